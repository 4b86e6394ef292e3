#include "metrics/label_guard.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <string>

#include "metrics/call_metrics.h"

namespace bird_exporter {
namespace {

TEST(LabelGuardTest, AdmitsValuesUpToTheDistinctCapThenMapsToOther) {
  LabelGuard guard({/*max_value_length=*/8, /*max_distinct_values=*/2});
  bool dropped = true;
  EXPECT_EQ(guard.Admit("codec", "PCMU", dropped), "PCMU");
  EXPECT_FALSE(dropped);
  EXPECT_EQ(guard.Admit("codec", "PCMA", dropped), "PCMA");
  EXPECT_EQ(guard.Admit("codec", "G722", dropped), "other");
  EXPECT_TRUE(dropped);
  EXPECT_EQ(guard.Admit("codec", "PCMU", dropped), "PCMU");  // admitted before: stays
  EXPECT_FALSE(dropped);
  EXPECT_EQ(guard.Admit("sip_code", "486", dropped), "486");  // caps are per label
  EXPECT_FALSE(dropped);
}

TEST(LabelGuardTest, MapsOverlongValuesToOther) {
  LabelGuard guard({/*max_value_length=*/8, /*max_distinct_values=*/100});
  bool dropped = false;
  EXPECT_EQ(guard.Admit("codec", "a-very-long-codec-name", dropped), "other");
  EXPECT_TRUE(dropped);
}

TEST(LabelGuardTest, UnknownAndOtherAlwaysPass) {
  LabelGuard guard({8, 0});
  bool dropped = true;
  EXPECT_EQ(guard.Admit("codec", "unknown", dropped), "unknown");
  EXPECT_FALSE(dropped);
  EXPECT_EQ(guard.Admit("codec", "other", dropped), "other");
  EXPECT_FALSE(dropped);
}

TEST(LabelGuardTest, AdversarialCauseCodesCannotExplodeSeries) {
  prometheus::Registry registry;
  CallMetrics metrics(registry, {}, {64, 5});
  for (int code = 0; code < 1000; ++code) {
    CallObservation obs;
    obs.direction = "incoming";
    obs.call_type = "pstn";
    obs.status = "failed";
    obs.hangup_source = "none";
    obs.hangup_cause_code = std::to_string(100000 + code);
    obs.hangup_cause = "UNKNOWN";
    obs.sip_code = "unknown";
    obs.cause_class = "network";
    obs.codec = "codec" + std::to_string(code);
    metrics.Record({"w", "c"}, obs);
  }
  std::size_t hangup_series = 0;
  double dropped = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name == "bird_call_hangups_total") hangup_series = family.metric.size();
    if (family.name == "bird_exporter_label_values_dropped_total") {
      for (const auto& metric : family.metric) dropped += metric.counter.value;
    }
  }
  EXPECT_EQ(hangup_series, 6u);  // 5 admitted codes + other
  EXPECT_EQ(dropped, 995.0);     // cause codes; the codec labels no series of these calls
}

}  // namespace
}  // namespace bird_exporter

namespace bird_exporter {
namespace {

TEST(LabelGuardTest, AdversarialProvidersAndEdgesCannotExplodeSeries) {
  prometheus::Registry registry;
  MetricDimensions d;
  d.outcome = {"provider", "edge_region"};
  CallMetrics metrics(registry, d, {64, 5});
  for (int i = 0; i < 1000; ++i) {
    CallObservation obs;
    obs.direction = "outgoing";
    obs.status = "completed";
    obs.provider = "carrier-" + std::to_string(i);
    obs.edge_region = "edge-" + std::to_string(i);
    metrics.Record({"w", "c"}, obs);
  }
  std::size_t call_series = 0;
  std::map<std::string, double> dropped;
  for (const auto& family : registry.Collect()) {
    if (family.name == "bird_calls_total") call_series = family.metric.size();
    if (family.name == "bird_exporter_label_values_dropped_total") {
      for (const auto& metric : family.metric) {
        for (const auto& label : metric.label) dropped[label.value] += metric.counter.value;
      }
    }
  }
  // 5 admitted pairs (carrier-i with edge-i) and other/other.
  EXPECT_EQ(call_series, 6u);
  EXPECT_EQ(dropped["provider"], 995.0);
  EXPECT_EQ(dropped["edge_region"], 995.0);
}

TEST(LabelGuardTest, ADimensionNoGroupCarriesUsesNoBudget) {
  prometheus::Registry registry;
  CallMetrics metrics(registry, {}, {64, 5});  // edge_region is in no default group
  for (int i = 0; i < 100; ++i) {
    CallObservation obs;
    obs.direction = "outgoing";
    obs.status = "completed";
    obs.edge_region = "edge-" + std::to_string(i);
    metrics.Record({"w", "c"}, obs);
  }
  for (const auto& family : registry.Collect()) {
    if (family.name == "bird_exporter_label_values_dropped_total") {
      EXPECT_TRUE(family.metric.empty());
    }
  }
}

}  // namespace
}  // namespace bird_exporter
