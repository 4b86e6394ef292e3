#include "sim/call_generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

namespace bird_exporter::sim {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  // splitmix64 over the pair: stable across platforms, unlike std::hash.
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t HashString(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

milliseconds Seconds(double s) { return milliseconds(static_cast<long long>(s * 1000)); }

template <typename T>
const T& PickWeighted(const std::vector<T>& items, std::mt19937_64& rng) {
  double total = 0;
  for (const auto& item : items) total += item.weight;
  double x = std::uniform_real_distribution<double>(0, total)(rng);
  for (const auto& item : items) {
    if (x < item.weight) return item;
    x -= item.weight;
  }
  return items.back();
}

// A carrier routing `destination` (weighted); WebRTC calls go to a carrier named webrtc-edge
// when the scenario has one.
const Carrier& PickCarrier(const std::vector<Carrier>& carriers, const Destination& destination,
                           const std::string& type, std::mt19937_64& rng) {
  std::vector<Carrier> eligible;
  for (const Carrier& c : carriers) {
    const bool webrtc = c.provider == "webrtc-edge";
    const bool routes = destination.carriers.empty() ||
                        std::find(destination.carriers.begin(), destination.carriers.end(),
                                  c.provider) != destination.carriers.end();
    if (type == "webrtc" ? webrtc : routes && !webrtc) eligible.push_back(c);
  }
  if (eligible.empty()) return PickWeighted(carriers, rng);
  const Carrier& picked = PickWeighted(eligible, rng);
  for (const Carrier& c : carriers) {
    if (c.provider == picked.provider) return c;
  }
  return carriers.front();
}

double Round2(double v) { return std::round(v * 100) / 100; }

// Digits drawn from `rng`.
std::string Digits(int count, std::mt19937_64& rng) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += static_cast<char>('0' + std::uniform_int_distribution<int>(0, 9)(rng));
  }
  return out;
}

// A mobile number of `country` in E.164, as libphonenumber's metadata has them valid; Bird
// writes them with or without the '+'.
std::string MobileNumber(const std::string& country, std::mt19937_64& rng) {
  if (country == "NL") return "316" + std::string(1, "123458"[rng() % 6]) + Digits(7, rng);
  if (country == "DE") return "49151" + Digits(8, rng);
  if (country == "PT") return "3519" + std::string(1, "1236"[rng() % 4]) + Digits(7, rng);
  if (country == "GB") return "447400" + Digits(6, rng);
  if (country == "FR") return "336" + std::string(1, "124578"[rng() % 6]) + Digits(7, rng);
  if (country == "US") {
    static const char* kAreas[] = {"201", "212", "415", "646"};
    return std::string("1") + kAreas[rng() % 4] + std::to_string(2 + rng() % 8) + Digits(6, rng);
  }
  if (country == "BE") return "3247" + Digits(7, rng);
  if (country == "ES") return "346" + Digits(8, rng);
  return "";  // a country without a known format: no number
}

SimMedia MakeMedia(const Carrier& carrier, double talk_seconds, bool one_way, bool inbound_missing,
                   std::mt19937_64& rng) {
  SimMedia m;
  m.codec = carrier.codec;
  m.rate = carrier.rate;
  const double packets = std::floor(talk_seconds * 50);  // 20 ms packetisation
  const double bytes_per_packet = carrier.codec == "opus"   ? 92
                                  : carrier.codec == "G722" ? 172
                                                            : 172;
  m.out_packets = packets;
  m.out_media_packets = packets;
  m.out_bytes = packets * bytes_per_packet;
  if (std::uniform_real_distribution<double>(0, 1)(rng) < 0.2) {
    m.in_dtmf_packets = 8 * std::uniform_int_distribution<int>(1, 6)(rng);
  }
  if (one_way && inbound_missing) {
    // FreeSWITCH starts from R=100 / MOS 4.5 and never lowers it without inbound packets.
    m.in_packets = m.in_dtmf_packets;
    m.in_bytes = m.in_packets * 16;
    return m;
  }
  if (one_way) {
    // Nothing sent: the far end hears silence while what it sends arrives as usual.
    m.out_packets = m.out_media_packets = m.out_bytes = 0;
  }
  const double loss =
      std::min(0.5, std::exponential_distribution<double>(1.0 / carrier.loss_mean)(rng));
  const double lost = std::round(packets * loss);
  const double received = std::max(1.0, packets - lost);
  m.flaws = 3 * lost;  // an isolated lost packet costs about 3 flaws (domain notes §1.3)
  int quality = static_cast<int>(100 * (received - std::min(m.flaws, received)) / received);
  if (quality < 0 || quality > 100) quality = 100;
  m.quality_score = quality;
  m.mos = MosFromQuality(quality);
  m.in_media_packets = received;
  m.in_packets = received + m.in_dtmf_packets;
  m.in_bytes = received * bytes_per_packet + m.in_dtmf_packets * 16;
  m.loss_rate = Round2(lost / received * 100) / 100;  // a ratio with FreeSWITCH's 2 decimals
  m.burst_rate = lost > 0 ? std::abs(1 - m.loss_rate) : 0;
  m.jitter_min_var = Round2(std::uniform_real_distribution<double>(0.5, 150)(rng));
  // The largest jitter of a healthy call stays under 30 ms (a variance of 900 ms²); loss comes
  // with jitter, so a lossy call's exceeds it.
  m.jitter_max_var = Round2(m.jitter_min_var +
                            std::uniform_real_distribution<double>(50, 600)(rng) * (1 + 10 * loss));
  m.mean_interval_ms = Round2(20 + std::uniform_real_distribution<double>(0, 1.2)(rng) + 20 * loss);
  return m;
}

}  // namespace

double MosFromQuality(int r) {
  if (r < 0) return 1;
  if (r > 100) return 4.5;
  return Round2(1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r));
}

std::string SimCall::StatusAt(SystemTime t) const {
  if (t >= ended_at) return final_status;
  if (answered_at && t >= *answered_at) return "ongoing";
  if (t >= ringing_at) return "ringing";
  return "starting";
}

int SimCall::DurationSeconds() const {
  if (!answered_at) return 0;
  return static_cast<int>(
      std::llround(std::chrono::duration<double>(ended_at - *answered_at).count()));
}

CallGenerator::CallGenerator(std::uint64_t seed, Scenario scenario)
    : seed_(seed), scenario_(std::move(scenario)) {}

milliseconds CallGenerator::InterArrival(const std::string& channel_id,
                                         std::uint64_t sequence) const {
  std::mt19937_64 rng(Mix(Mix(seed_, HashString(channel_id)), sequence * 2 + 1));
  const double mean_seconds = 60.0 / std::max(0.01, scenario_.calls_per_minute);
  // The shortest gap: 50 ms up to 150 calls a minute, an eighth of the mean gap above that (at
  // least 1 ms, so a channel's calls never share a millisecond).
  const double floor_seconds = std::clamp(mean_seconds / 8, 0.001, 0.05);
  return Seconds(
      std::max(floor_seconds, std::exponential_distribution<double>(1 / mean_seconds)(rng)));
}

// The remote party: a SIP URI or a WebRTC client for those call types; a number otherwise,
// sometimes withheld or invalid.
void CallGenerator::DrawRemoteParty(SimCall& call, const Destination& destination,
                                    std::mt19937_64& rng) const {
  if (call.type == "sip") {
    call.remote_party = "sip:" + Digits(8, rng) + "@trunk.example.net";
  } else if (call.type == "webrtc") {
    call.remote_party = "client:" + call.id;
  } else {
    const double party = std::uniform_real_distribution<double>(0, 1)(rng);
    const std::string number = MobileNumber(destination.country, rng);
    if (party < scenario_.withheld_share && call.direction == "incoming") {
      call.remote_party = "anonymous";
    } else if (party < scenario_.withheld_share + scenario_.invalid_number_share) {
      call.remote_party = number.substr(0, 6);
    } else {
      // Bird's own examples show both forms.
      call.remote_party = (rng() % 2 == 0 ? "+" : "") + number;
      if (!number.empty()) call.expected_country = destination.country;
    }
  }
  if (call.expected_country.empty()) call.expected_country = "unknown";
}

// The final status and what goes with it: answer and talk time, hangup cause, media.
void CallGenerator::DrawOutcome(SimCall& call, const Carrier& carrier, std::mt19937_64& rng) const {
  auto uniform = [&rng](double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
  };
  const Scenario& s = scenario_;
  const double total = s.answered + s.busy + s.no_answer + s.cancelled + s.failed;
  double outcome = uniform(0, total);
  // A carrier in trouble fails a share of its calls on top of the mix.
  if (uniform(0, 1) < carrier.failure_share) outcome = total;
  if (outcome < s.answered) {
    call.final_status = "completed";
    call.answered_at = call.ringing_at + Seconds(uniform(1.5, 12));
    double talk =
        std::max(3.0, std::exponential_distribution<double>(1 / s.mean_talk_seconds)(rng));
    if (uniform(0, 1) < s.long_call_share) {
      talk = uniform(std::min(s.long_call_min_seconds, s.long_call_max_seconds),
                     std::max(s.long_call_min_seconds, s.long_call_max_seconds));
    }
    call.ended_at = *call.answered_at + Seconds(talk);
    call.hangup_cause_code = 16;
    call.hangup_sip_code = "200";
    call.hangup_source = uniform(0, 1) < 0.5 ? "caller" : "callee";
    call.one_way_audio = uniform(0, 1) < s.one_way_audio_share;
    call.inbound_missing = call.one_way_audio && uniform(0, 1) < s.one_way_inbound_share;
    call.media = MakeMedia(carrier, talk, call.one_way_audio, call.inbound_missing, rng);
  } else if (outcome < s.answered + s.busy) {
    call.final_status = "busy";
    call.ended_at = call.ringing_at + Seconds(uniform(0.1, 0.5));
    call.hangup_cause_code = 17;
    call.hangup_sip_code = "486";
    call.hangup_source = "callee";
  } else if (outcome < s.answered + s.busy + s.no_answer) {
    call.final_status = "no-answer";
    call.ended_at = call.ringing_at + Seconds(uniform(20, 30));
    call.hangup_cause_code = 19;
    call.hangup_sip_code = "480";
    call.hangup_source = "timeout";
  } else if (outcome < s.answered + s.busy + s.no_answer + s.cancelled) {
    // FreeSWITCH reports ORIGINATOR_CANCEL as Q.850 16; the SIP 487 tells it apart.
    call.final_status = "cancelled";
    call.ended_at = call.ringing_at + Seconds(uniform(2, 10));
    call.hangup_cause_code = 16;
    call.hangup_sip_code = "487";
    call.hangup_source = "caller";
  } else {
    static const std::vector<std::pair<int, const char*>> kFailures = {
        {34, "503"}, {38, "502"}, {41, "500"}, {102, "504"}, {1, "404"}, {21, "403"}};
    const auto& failure =
        kFailures[std::uniform_int_distribution<std::size_t>(0, kFailures.size() - 1)(rng)];
    call.final_status = "failed";
    call.ended_at = call.ringing_at + Seconds(uniform(0.1, 1));
    call.hangup_cause_code = failure.first;
    call.hangup_sip_code = failure.second;
    call.hangup_source = "none";
  }
}

SimCall CallGenerator::Generate(const std::string& workspace_id, const std::string& channel_id,
                                std::uint64_t sequence, SystemTime created_at) const {
  std::mt19937_64 rng(Mix(Mix(seed_, HashString(channel_id)), sequence * 2));
  auto uniform = [&rng](double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
  };
  SimCall call;
  call.workspace_id = workspace_id;
  call.channel_id = channel_id;
  const std::uint64_t a = rng(), b = rng();
  char id[40];
  std::snprintf(id, sizeof(id), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a >> 16) & 0xFFFF, static_cast<unsigned>(a) & 0xFFF,
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  call.id = id;
  call.direction = uniform(0, 1) < 0.5 ? "incoming" : "outgoing";
  const double type_draw = uniform(0, 1);
  call.type = type_draw < 0.7 ? "pstn" : type_draw < 0.85 ? "sip" : "webrtc";
  const Destination& destination = PickWeighted(scenario_.destinations, rng);
  call.country = destination.country;
  const Carrier& carrier = PickCarrier(scenario_.carriers, destination, call.type, rng);
  call.provider = carrier.provider;
  // Calls of the Americas land on the US edge, the rest (and a tenth of all) in Europe.
  call.edge_region = destination.country == "US" && uniform(0, 1) < 0.9 ? "us-east-1" : "eu-west-1";
  DrawRemoteParty(call, destination, rng);
  // Log-normal PDD around the destination's median, slower or faster by carrier.
  call.pdd_seconds = Round2(destination.pdd_median_seconds * carrier.pdd_factor *
                            std::exp(0.35 * std::normal_distribution<double>(0, 1)(rng)) * 1000) /
                     1000;
  call.created_at = created_at;
  call.ringing_at = created_at + Seconds(call.pdd_seconds);

  DrawOutcome(call, carrier, rng);
  call.insights_ready_at = call.ended_at + Seconds(uniform(2, 6));
  return call;
}

}  // namespace bird_exporter::sim
