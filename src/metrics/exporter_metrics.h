// The exporter's own health metrics: API requests, parse errors, channel health, state.
// Implements ApiObserver so the Bird client can report requests without knowing Prometheus.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <mutex>
#include <string>

#include "bird/client.h"
#include "metrics/call_metrics.h"

namespace bird_exporter {

class ExporterMetrics : public ApiObserver {
 public:
  explicit ExporterMetrics(prometheus::Registry& registry);

  void OnApiRequest(const std::string& workspace, std::string_view endpoint,
                    const std::string& code, double seconds) override;
  void OnParseError(std::string_view endpoint) override;
  void OnBudget(const std::string& workspace, double rate) override;
  void OnRateLimited(const std::string& workspace) override;

  void SetChannelUp(const ChannelLabels& channel, bool up);
  void SetLastPollSuccess(const ChannelLabels& channel, double unix_seconds);
  void SetInsightsPending(const std::string& workspace, double count);
  void AddInsightsUnavailable(const ChannelLabels& channel, double count);
  void SetInsightsMode(std::string_view mode);
  void SetInsightsDelay(double seconds);
  void SetTrackedCalls(const ChannelLabels& channel, double count);
  void AddLateCalls(const ChannelLabels& channel, double count);
  void AddAbandonedCalls(const ChannelLabels& channel, double count);
  void SetChannelBehind(const ChannelLabels& channel, bool behind);
  // A poll whose listing of the channel failed: reason not_found (404), unauthorized (401),
  // forbidden (403) or failed (anything else: timeouts, 5xx, unreadable answers).
  void ChannelError(const ChannelLabels& channel, std::string_view reason);
  void StateError(std::string_view operation);  // "load" or "write"
  void SetStateCalls(double count);
  void SetPollDuration(double seconds);
  void ObserveStateCommit(double seconds);
  // After a reload attempt: success flag, and the time of the last success.
  void ConfigReloaded(bool success, double unix_seconds);
  // Removes the channel's series; with `workspace_gone`, the workspace's too.
  void RemoveChannel(const ChannelLabels& channel, bool workspace_gone);

 private:
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Histogram>& api_duration_;
  prometheus::Family<prometheus::Counter>& parse_errors_;
  prometheus::Family<prometheus::Gauge>& channel_up_;
  prometheus::Family<prometheus::Gauge>& last_poll_success_;
  prometheus::Family<prometheus::Gauge>& insights_pending_;
  prometheus::Family<prometheus::Counter>& insights_unavailable_;
  prometheus::Family<prometheus::Gauge>& insights_mode_;
  prometheus::Gauge& insights_delay_;
  prometheus::Family<prometheus::Gauge>& tracked_calls_;
  prometheus::Family<prometheus::Counter>& late_calls_;
  prometheus::Family<prometheus::Counter>& abandoned_calls_;
  prometheus::Family<prometheus::Gauge>& channel_behind_;
  prometheus::Family<prometheus::Counter>& channel_errors_;
  prometheus::Family<prometheus::Gauge>& budget_;
  prometheus::Family<prometheus::Counter>& rate_limited_;
  prometheus::Family<prometheus::Counter>& state_errors_;
  prometheus::Gauge& state_calls_;
  prometheus::Gauge& poll_duration_;
  prometheus::Gauge& state_commit_duration_;
  prometheus::Gauge& reload_successful_;
  prometheus::Gauge& reload_success_timestamp_;
};

// Registers bird_exporter_build_info{version,revision,compiler} = 1.
void RegisterBuildInfo(prometheus::Registry& registry);

}  // namespace bird_exporter
