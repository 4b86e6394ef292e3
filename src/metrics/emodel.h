// The E-model (ITU-T G.107) transmission rating R of a call, without its delay term: Bird
// exposes no delay or round-trip time, so the value is an upper bound of the call's real R.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace bird_exporter {

// A codec's equipment impairment (Ie) and packet-loss robustness (Bpl), ITU-T G.113 Appendix I.
struct CodecImpairment {
  std::string_view codec;  // Bird `readCodecName` as FreeSWITCH writes it: "PCMU", "G729"
  double ie;
  double bpl;
};

// Every codec with known values, in one table (docs/metrics.md lists it).
const std::vector<CodecImpairment>& CodecImpairments();

// R = 93.2 - Ie,eff with Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl) (G.107 §7.5),
// Ppl = 100 * `loss_ratio`, BurstR = `burst_ratio` (1 for random loss; below 1 or absent reads
// as 1). nullopt for a codec not in the table (its R is not defined by these values).
std::optional<double> RFactor(std::string_view codec, double loss_ratio,
                              std::optional<double> burst_ratio);

}  // namespace bird_exporter
