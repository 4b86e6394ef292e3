#include "metrics/emodel.h"

#include <algorithm>
#include <cctype>

namespace bird_exporter {
namespace {

// ITU-T G.113 (11/2007) Appendix I, Tables I.1 and I.3: Ie, and Bpl under random loss with the
// codec's packet loss concealment. G.711 with PLC per G.711 Appendix I; G.729A with VAD; G.723.1
// at 6.3 kbit/s with VAD (FreeSWITCH names it G723 and sends 6.3 kbit/s by default).
const std::vector<CodecImpairment> kCodecs = {
    {"PCMU", 0, 25.1},
    {"PCMA", 0, 25.1},
    {"G729", 11, 19.0},
    {"G723", 15, 16.1},
};

// The default R with no impairment (Ro - Is with every G.107 default, A = 0).
constexpr double kDefaultR = 93.2;

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

const std::vector<CodecImpairment>& CodecImpairments() { return kCodecs; }

std::optional<double> RFactor(std::string_view codec, double loss_ratio,
                              std::optional<double> burst_ratio) {
  const auto it = std::find_if(kCodecs.begin(), kCodecs.end(), [codec](const CodecImpairment& c) {
    return SameName(c.codec, codec);
  });
  if (it == kCodecs.end()) return std::nullopt;
  const double ppl = 100 * std::clamp(loss_ratio, 0.0, 1.0);
  const double burst = std::max(1.0, burst_ratio.value_or(1.0));
  const double ie_eff = it->ie + (95 - it->ie) * ppl / (ppl / burst + it->bpl);
  return kDefaultR - ie_eff;
}

}  // namespace bird_exporter
