// A simulator of the Bird calls API over real HTTP: calls appear, ring, talk and end in real
// time from a seed and a scenario, with Bird's envelope, auth, rate limit and quirks. It knows
// its ground truth (GET /_sim/truth). Tests also script calls into it (served exactly as
// written), inject faults into its next answers and read the record of every request. For
// demos and tests, never for production.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sim/call_generator.h"
#include "sim/scripted.h"

namespace bird_exporter::sim {

struct SimWorkspace {
  std::string id;
  std::vector<std::string> channel_ids;
};

struct SimulatorSettings {
  std::string listen_address = "127.0.0.1:0";  // [HOST]:PORT; port 0 picks one
  std::string access_key = "demo-access-key";
  std::uint64_t seed = 1;
  // The traffic; scenario.calls_per_minute (per channel) and scenario.long_call_share can be
  // set after ScenarioByName to override the scenario's own values.
  Scenario scenario;
  std::vector<SimWorkspace> workspaces;  // DemoWorkspaces() or GeneratedWorkspaces(n, m)
  // Calls created this long before the start are already there (many already ended).
  std::chrono::milliseconds history{std::chrono::minutes(5)};
  // After this long no new call starts, so traffic winds down to a quiet, final truth.
  std::optional<std::chrono::milliseconds> generate_for;
  int max_gets_per_second = 50;  // per workspace, like Bird; beyond it: 429 (0: no limit)
  int max_page_size = 1000;      // the largest `limit` honoured; smaller values force paging
  bool record_requests = false;  // keep every request for Requests() (tests; grows)
  // The simulated wall clock: when calls are created, end and have insights, and the `now` of
  // every answer. Tests fix it.
  std::function<SystemTime()> clock = [] { return std::chrono::system_clock::now(); };
  // The clock of the 429 budget's one-second window, of max_in_any_second and of the request
  // record's times. Tests step it by hand.
  std::function<std::chrono::steady_clock::time_point()> steady_clock = [] {
    return std::chrono::steady_clock::now();
  };
};

// A simulator that generates no call and has no rate limit, for tests that script every call:
// `workspaces` are the channels that exist before any call is scripted into them (scripting a
// call into another channel creates it). Requests are recorded.
SimulatorSettings ScriptedSettings(std::string access_key,
                                   std::vector<SimWorkspace> workspaces = {});

// Default demo topology: two workspaces with two voice channels each, stable uuids.
std::vector<SimWorkspace> DemoWorkspaces();

// `workspaces` workspaces of `channels` channels each (none for a count under 1), with
// uuid-shaped ids that depend only on the indices: workspace i and its channel j have the same
// ids whatever the counts. The last group of an id holds the indices (i << 24 | j + 1 for a
// channel, i << 24 for a workspace), so the ids are distinct for indices under 2^24.
std::vector<SimWorkspace> GeneratedWorkspaces(int workspaces, int channels);

class Simulator {
 public:
  explicit Simulator(SimulatorSettings settings);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  std::string BaseUrl() const;  // http://127.0.0.1:<port>
  int Port() const;

  // What the simulator has served: every call whose insights are ready and that was served at
  // least once in a terminal status (in a list page, by GET of the call, or as insights answered
  // 200), aggregated the way the exporter counts them (`calls`, `by_status`, `by_channel`,
  // `by_hangup_cause_code`, `mos_observations`, `no_inbound_media`, `pdd_observations`,
  // `duration_observations`, `by_country` (the remote party's country the exporter must find,
  // or "unknown"), `by_provider`, `abandoned` (cancelled by the caller), `one_way_audio` (answered
  // calls missing their `in` or `out` media)), plus `quiet` = no call will start, end or become
  // ready any more, `generated` = every call created so far and `calls_by_channel_generated` the
  // same per channel, and `requests` = per workspace id (every configured one, and any other
  // requested):
  //   total          requests answered (429s and faults included) under /workspaces/{ws}/
  //   list_calls     channel lists and workspace call logs, whatever their answer
  //   get_call       GET of one call, whatever its answer
  //   call_insights  GET of one call's insights, whatever their answer
  //   rate_limited   answered 429: beyond max_gets_per_second or a scenario fault
  //   max_in_any_second  the most requests (the total's) received within any sliding second
  // Requests answered 401 and requests to /_sim/ are not counted.
  nlohmann::json Truth() const;

  // Scripted calls (none is part of the truth): adds the call, or replaces the call with the
  // same id (scripted or generated); its channel is created if it does not exist. Throws
  // std::invalid_argument when the channel exists in another workspace.
  void UpsertCall(const ScriptedCall& call);
  std::optional<ScriptedCall> GetCall(const std::string& id) const;
  std::vector<ScriptedCall> Calls() const;  // every scripted call

  // The next `count` requests to `endpoint` ("list_calls", "get_call", "call_insights", or ""
  // for any) that pass auth get `fault` instead of (for kSlow: after a delay, for
  // kTruncatedBody: half of) the real answer; endpoint faults are taken before "" ones.
  void InjectFaults(const std::string& endpoint, Fault fault, int count);
  int PendingFaults() const;
  void SetSlowDelay(std::chrono::milliseconds delay);  // 2 s unless set

  void SetAccessKey(std::string access_key);  // key rotation and wrong-key tests
  void SetMaxPageSize(int max_page_size);

  // Every request but /_sim/ ones, when settings.record_requests.
  std::vector<RecordedRequest> Requests() const;
  void ClearRequests();
  int MaxConcurrentRequests() const;  // the most requests in flight at once (any path, any key)

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bird_exporter::sim
