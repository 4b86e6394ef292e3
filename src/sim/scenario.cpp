#include "sim/scenario.h"

#include <stdexcept>

namespace bird_exporter::sim {
namespace {

// PDD medians per destination: on-net and EU mobile well under 2 s, long-distance slower.
// Each destination is routed by one or two carriers (webrtc-edge takes WebRTC calls anywhere).
std::vector<Destination> DefaultDestinations() {
  return {{"NL", 4, 0.9, {"northsea-telecom", "alpine-connect"}},
          {"DE", 2, 1.2, {"alpine-connect", "northsea-telecom"}},
          {"PT", 2, 1.4, {"atlantic-voice"}},
          {"GB", 1.5, 1.6, {"atlantic-voice", "northsea-telecom"}},
          {"FR", 1, 1.3, {"alpine-connect"}},
          {"US", 1, 1.7, {"atlantic-voice"}}};
}

// Fictional carriers: one per codec, with their own quality and set-up delay.
std::vector<Carrier> DefaultCarriers() {
  return {{"PCMA", "8000", 4, 0.002, "northsea-telecom", 1.0},
          {"PCMU", "8000", 2, 0.002, "atlantic-voice", 1.3},
          {"G722", "16000", 2, 0.003, "alpine-connect", 0.9},
          {"opus", "48000", 2, 0.002, "webrtc-edge", 0.8}};
}

Scenario Healthy() {
  Scenario s;
  s.name = "healthy";
  s.description = "a steady healthy day: good quality, normal answer ratio, fast PDD";
  s.destinations = DefaultDestinations();
  s.carriers = DefaultCarriers();
  return s;
}

}  // namespace

std::vector<std::string> ScenarioNames() {
  return {"healthy",       "degraded-carrier", "slow-pdd",
          "one-way-audio", "api-trouble",      "contact-centre"};
}

Scenario ScenarioByName(const std::string& name) {
  Scenario s = Healthy();
  if (name == "healthy") return s;
  if (name == "degraded-carrier") {
    s.name = name;
    s.description =
        "the G722 carrier loses about 10% of packets on a typical call: most of its calls score "
        "MOS below 3.6";
    for (auto& carrier : s.carriers) {
      if (carrier.codec == "G722") {
        // Per-call loss is exponential, so its median is ln 2 = 0.69 of the mean: a mean of 15%
        // puts the median call at 10.4% loss, R 65, MOS 3.35 (3 flaws per lost packet).
        carrier.loss_mean = 0.15;
        carrier.weight = 4;
        carrier.failure_share = 0.3;  // and fails a third of its call attempts
      }
    }
    s.failed = 0.08;
    return s;
  }
  if (name == "slow-pdd") {
    s.name = name;
    s.description = "calls to the US take 5-7 s to ring (post-dial delay)";
    for (auto& d : s.destinations) {
      if (d.country == "US") {
        d.pdd_median_seconds = 6;
        d.weight = 4;
      }
    }
    return s;
  }
  if (name == "one-way-audio") {
    s.name = name;
    s.description =
        "a burst of one-way-audio calls: answered with media in one direction only (no inbound "
        "media: MOS still 4.5)";
    s.one_way_audio_share = 0.3;
    return s;
  }
  if (name == "api-trouble") {
    s.name = name;
    s.description = "the Bird API in trouble: 429s, 5xx HTML pages, slow and malformed answers";
    s.rate_429 = 0.08;
    s.rate_5xx_html = 0.05;
    s.rate_slow = 0.02;
    s.rate_malformed = 0.04;
    return s;
  }
  if (name == "contact-centre") {
    s.name = name;
    s.description =
        "a busy contact centre: 20 calls a second per channel, 5% of the answered calls are "
        "support calls of 10-60 minutes, otherwise healthy";
    s.calls_per_minute = 1200;
    s.long_call_share = 0.05;
    s.long_call_min_seconds = 600;
    s.long_call_max_seconds = 3600;
    return s;
  }
  std::string known;
  for (const auto& n : ScenarioNames()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown scenario \"" + name + "\" (known: " + known + ")");
}

}  // namespace bird_exporter::sim
