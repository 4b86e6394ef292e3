// Traffic scenarios of the Bird API simulator: call mix, quality and API behaviour, following
// the domain notes (FreeSWITCH loss-only MOS, Q.850/SIP outcomes, PDD per destination).
#pragma once

#include <string>
#include <vector>

namespace bird_exporter::sim {

struct Destination {
  std::string country;  // ISO 3166 alpha-2 of the called number
  double weight = 1;    // share of calls
  double pdd_median_seconds;
  // The carriers (providers) routing it, as least-cost routing does; empty: any carrier.
  std::vector<std::string> carriers = {};
};

// A carrier (Bird `signallingMetrics.providerName`) with its codec, quality and set-up delay.
struct Carrier {
  std::string codec;  // readCodecName / writeCodecName
  std::string rate;   // readCodecRate ("8000", "16000", "48000")
  double weight = 1;
  double loss_mean = 0.002;  // mean random packet loss ratio of answered calls
  std::string provider;      // providerName
  double pdd_factor = 1;     // times the destination's median PDD
  double failure_share = 0;  // extra share of its calls that fail (a carrier in trouble)
};

struct Scenario {
  std::string name;
  std::string description;
  double calls_per_minute = 20;  // per channel
  // Outcome mix of finished calls (weights).
  double answered = 0.62, busy = 0.12, no_answer = 0.14, cancelled = 0.07, failed = 0.05;
  double one_way_audio_share = 0.01;  // answered calls with media in one direction only
  // Of those, the share whose inbound media is missing (the rest miss their outbound media).
  double one_way_inbound_share = 0.5;
  // Remote parties of PSTN calls that are no usable number: withheld (incoming, "anonymous")
  // and invalid (too short for their country).
  double withheld_share = 0.02, invalid_number_share = 0.01;
  double mean_talk_seconds = 45;  // answered duration, exponential, at least 3 s
  double long_call_share = 0.03;  // answered calls lasting several minutes
  // Talk time of those long calls: uniform between the two bounds.
  double long_call_min_seconds = 180, long_call_max_seconds = 480;
  std::vector<Destination> destinations;
  std::vector<Carrier> carriers;
  // API behaviour: share of requests answered with each fault.
  double rate_429 = 0, rate_5xx_html = 0, rate_slow = 0, rate_malformed = 0;
  double slow_seconds = 3;
};

// healthy, degraded-carrier, slow-pdd, one-way-audio, api-trouble, contact-centre.
std::vector<std::string> ScenarioNames();
// Throws std::invalid_argument for an unknown name (the message lists the known ones).
Scenario ScenarioByName(const std::string& name);

}  // namespace bird_exporter::sim
