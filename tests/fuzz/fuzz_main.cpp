// libFuzzer entry of one target, chosen at build time (BIRD_FUZZ_TARGET).
#include <cstdio>
#include <cstdlib>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bird_exporter::fuzz::Target* target =
      bird_exporter::fuzz::FindTarget(BIRD_FUZZ_TARGET);
  if (target == nullptr) {
    std::fprintf(stderr, "unknown fuzz target %s\n", BIRD_FUZZ_TARGET);
    std::abort();
  }
  return target->run(data, size);
}
