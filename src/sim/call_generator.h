// Generates the simulator's calls: a pure function of (seed, scenario, channel, sequence
// number), so the same seed always yields the same calls and their ground truth.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "bird/rfc3339.h"
#include "sim/scenario.h"

namespace bird_exporter::sim {

struct SimMedia {
  std::string codec, rate;
  double mos = 4.5, quality_score = 100;
  double in_packets = 0, out_packets = 0, in_media_packets = 0, out_media_packets = 0;
  double in_dtmf_packets = 0, out_dtmf_packets = 0, in_bytes = 0, out_bytes = 0;
  double jitter_min_var = 0, jitter_max_var = 0, loss_rate = 0, burst_rate = 0;
  double mean_interval_ms = 0, flaws = 0;
};

struct ScriptedCall;

struct SimCall {
  std::string workspace_id, channel_id, id;
  std::string direction;     // incoming | outgoing
  std::string type;          // pstn | sip | webrtc
  std::string final_status;  // completed | busy | no-answer | cancelled | failed
  std::string country;       // of the destination drawn (the remote party's, for PSTN numbers)
  // The remote party (`to` of an outgoing call, `from` of an incoming one): an E.164 number of
  // `country`, "anonymous", a number too short to be valid, a SIP URI or a WebRTC client.
  std::string remote_party;
  // What the exporter must make of it: `country`, or "unknown" when the party is no number.
  std::string expected_country;
  std::string provider;     // signallingMetrics.providerName
  std::string edge_region;  // signallingMetrics.edgeRegion
  SystemTime created_at, ringing_at, ended_at, insights_ready_at;
  std::optional<SystemTime> answered_at;
  int hangup_cause_code = 16;
  std::string hangup_sip_code;
  std::string hangup_source;
  double pdd_seconds = 0;
  bool one_way_audio = false;
  bool inbound_missing = false;   // of a one-way-audio call: inbound (else outbound) media missing
  std::optional<SimMedia> media;  // answered calls only
  // A call a test scripted: served exactly as written, and no part of the truth.
  std::shared_ptr<const ScriptedCall> scripted;

  // Bird status at time t: starting, ringing, ongoing, then the final status.
  std::string StatusAt(SystemTime t) const;
  bool EndedAt(SystemTime t) const { return t >= ended_at; }
  bool InsightsReadyAt(SystemTime t) const { return t >= insights_ready_at; }
  int DurationSeconds() const;
};

// FreeSWITCH's MOS from its quality percentage R (ITU-T G.107 R->MOS), 2 decimals.
double MosFromQuality(int quality_percent);

class CallGenerator {
 public:
  CallGenerator(std::uint64_t seed, Scenario scenario);

  // The gap before the channel's call number `sequence`: exponential around the scenario's rate,
  // in whole milliseconds, never under 1 ms (50 ms at up to 150 calls a minute).
  std::chrono::milliseconds InterArrival(const std::string& channel_id,
                                         std::uint64_t sequence) const;

  SimCall Generate(const std::string& workspace_id, const std::string& channel_id,
                   std::uint64_t sequence, SystemTime created_at) const;

  const Scenario& scenario() const { return scenario_; }

 private:
  void DrawRemoteParty(SimCall& call, const Destination& destination, std::mt19937_64& rng) const;
  void DrawOutcome(SimCall& call, const Carrier& carrier, std::mt19937_64& rng) const;

  std::uint64_t seed_;
  Scenario scenario_;
};

}  // namespace bird_exporter::sim
