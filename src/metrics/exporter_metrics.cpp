#include "metrics/exporter_metrics.h"

#include "metrics/metric_definitions.h"
#include "version.h"

namespace bird_exporter {
namespace {

prometheus::Labels ChannelLabelSet(const ChannelLabels& channel) {
  return {{"workspace", channel.workspace}, {"channel", channel.channel}};
}

std::string CompilerName() {
#if defined(__clang__)
  return "clang-" __clang_version__;
#elif defined(__GNUC__)
  return "gcc-" + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

}  // namespace

ExporterMetrics::ExporterMetrics(prometheus::Registry& registry)
    : api_requests_(
          RegisterFamily(prometheus::BuildCounter(), registry, "bird_exporter_api_requests_total")),
      api_duration_(RegisterFamily(prometheus::BuildHistogram(), registry,
                                   "bird_exporter_api_request_duration_seconds")),
      parse_errors_(
          RegisterFamily(prometheus::BuildCounter(), registry, "bird_exporter_parse_errors_total")),
      channel_up_(RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_channel_up")),
      last_poll_success_(RegisterFamily(prometheus::BuildGauge(), registry,
                                        "bird_exporter_last_poll_success_timestamp_seconds")),
      insights_pending_(
          RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_insights_pending")),
      insights_unavailable_(RegisterFamily(prometheus::BuildCounter(), registry,
                                           "bird_exporter_insights_unavailable_total")),
      insights_mode_(
          RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_insights_mode")),
      insights_delay_(
          RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_insights_delay_seconds")
              .Add({})),
      tracked_calls_(
          RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_calls_followed")),
      late_calls_(RegisterFamily(prometheus::BuildCounter(), registry,
                                 "bird_exporter_calls_found_late_total")),
      abandoned_calls_(RegisterFamily(prometheus::BuildCounter(), registry,
                                      "bird_exporter_calls_abandoned_total")),
      channel_behind_(
          RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_channel_behind")),
      channel_errors_(RegisterFamily(prometheus::BuildCounter(), registry,
                                     "bird_exporter_channel_errors_total")),
      budget_(RegisterFamily(prometheus::BuildGauge(), registry,
                             "bird_exporter_api_budget_requests_per_second")),
      rate_limited_(RegisterFamily(prometheus::BuildCounter(), registry,
                                   "bird_exporter_api_rate_limited_total")),
      state_errors_(
          RegisterFamily(prometheus::BuildCounter(), registry, "bird_exporter_state_errors_total")),
      state_calls_(
          RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_state_calls").Add({})),
      poll_duration_(
          RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_poll_duration_seconds")
              .Add({})),
      state_commit_duration_(RegisterFamily(prometheus::BuildGauge(), registry,
                                            "bird_exporter_state_commit_duration_seconds")
                                 .Add({})),
      reload_successful_(RegisterFamily(prometheus::BuildGauge(), registry,
                                        "bird_exporter_config_last_reload_successful")
                             .Add({})),
      reload_success_timestamp_(
          RegisterFamily(prometheus::BuildGauge(), registry,
                         "bird_exporter_config_last_reload_success_timestamp_seconds")
              .Add({})) {
  // Both operations exist from the start so rate() works on the first failure.
  state_errors_.Add({{"operation", "load"}});
  state_errors_.Add({{"operation", "write"}});
  for (const char* endpoint : {"list_calls", "get_call", "call_insights"}) {
    parse_errors_.Add({{"endpoint", endpoint}});
  }
}

void ExporterMetrics::OnApiRequest(const std::string& workspace, std::string_view endpoint,
                                   const std::string& code, double seconds) {
  const std::string endpoint_label(endpoint);
  api_requests_.Add({{"workspace", workspace}, {"endpoint", endpoint_label}, {"code", code}})
      .Increment();
  api_duration_
      .Add({{"endpoint", endpoint_label}},
           FindMetricSpec("bird_exporter_api_request_duration_seconds").buckets)
      .Observe(seconds);
}

void ExporterMetrics::OnParseError(std::string_view endpoint) {
  parse_errors_.Add({{"endpoint", std::string(endpoint)}}).Increment();
}

void ExporterMetrics::OnBudget(const std::string& workspace, double rate) {
  budget_.Add({{"workspace", workspace}}).Set(rate);
}

void ExporterMetrics::OnRateLimited(const std::string& workspace) {
  rate_limited_.Add({{"workspace", workspace}}).Increment();
}

void ExporterMetrics::SetInsightsMode(std::string_view mode) {
  for (const char* m : {"all", "poor", "none"}) {
    insights_mode_.Add({{"mode", m}}).Set(mode == m ? 1 : 0);
  }
}

void ExporterMetrics::SetInsightsDelay(double seconds) { insights_delay_.Set(seconds); }

void ExporterMetrics::SetTrackedCalls(const ChannelLabels& channel, double count) {
  tracked_calls_.Add(ChannelLabelSet(channel)).Set(count);
}

void ExporterMetrics::AddLateCalls(const ChannelLabels& channel, double count) {
  late_calls_.Add(ChannelLabelSet(channel)).Increment(count);
}

void ExporterMetrics::AddAbandonedCalls(const ChannelLabels& channel, double count) {
  abandoned_calls_.Add(ChannelLabelSet(channel)).Increment(count);
}

void ExporterMetrics::SetChannelBehind(const ChannelLabels& channel, bool behind) {
  channel_behind_.Add(ChannelLabelSet(channel)).Set(behind ? 1 : 0);
}

void ExporterMetrics::SetChannelUp(const ChannelLabels& channel, bool up) {
  channel_up_.Add(ChannelLabelSet(channel)).Set(up ? 1 : 0);
}

void ExporterMetrics::SetLastPollSuccess(const ChannelLabels& channel, double unix_seconds) {
  last_poll_success_.Add(ChannelLabelSet(channel)).Set(unix_seconds);
}

void ExporterMetrics::SetInsightsPending(const std::string& workspace, double count) {
  insights_pending_.Add({{"workspace", workspace}}).Set(count);
}

void ExporterMetrics::AddInsightsUnavailable(const ChannelLabels& channel, double count) {
  insights_unavailable_.Add(ChannelLabelSet(channel)).Increment(count);
}

void ExporterMetrics::StateError(std::string_view operation) {
  state_errors_.Add({{"operation", std::string(operation)}}).Increment();
}

void ExporterMetrics::SetStateCalls(double count) { state_calls_.Set(count); }

void ExporterMetrics::SetPollDuration(double seconds) { poll_duration_.Set(seconds); }

void ExporterMetrics::ChannelError(const ChannelLabels& channel, std::string_view reason) {
  prometheus::Labels labels = ChannelLabelSet(channel);
  labels["reason"] = std::string(reason);
  channel_errors_.Add(labels).Increment();
}

void ExporterMetrics::ObserveStateCommit(double seconds) { state_commit_duration_.Set(seconds); }

void ExporterMetrics::ConfigReloaded(bool success, double unix_seconds) {
  reload_successful_.Set(success ? 1 : 0);
  if (success) reload_success_timestamp_.Set(unix_seconds);
}

void ExporterMetrics::RemoveChannel(const ChannelLabels& channel, bool workspace_gone) {
  const prometheus::Labels match = ChannelLabelSet(channel);
  RemoveMatching(channel_up_, match);
  RemoveMatching(last_poll_success_, match);
  RemoveMatching(insights_unavailable_, match);
  RemoveMatching(tracked_calls_, match);
  RemoveMatching(late_calls_, match);
  RemoveMatching(abandoned_calls_, match);
  RemoveMatching(channel_behind_, match);
  RemoveMatching(channel_errors_, match);
  if (workspace_gone) {
    RemoveMatching(budget_, {{"workspace", channel.workspace}});
    RemoveMatching(rate_limited_, {{"workspace", channel.workspace}});
    RemoveMatching(insights_pending_, {{"workspace", channel.workspace}});
    RemoveMatching(api_requests_, {{"workspace", channel.workspace}});
  }
}

void RegisterBuildInfo(prometheus::Registry& registry) {
  RegisterFamily(prometheus::BuildGauge(), registry, "bird_exporter_build_info")
      .Add({{"version", kVersion}, {"revision", kRevision}, {"compiler", CompilerName()}})
      .Set(1);
}

}  // namespace bird_exporter
