// The fuzz targets: one per parser of outside input. Each takes arbitrary bytes, must never
// crash, hang or leak, and checks what the parser promises about what it accepts. The same
// functions are driven by libFuzzer (tests/fuzz/fuzz_main.cpp, scripts/fuzz.sh) and replayed on
// the committed corpus by the unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bird_exporter::fuzz {

// A promise of a parser that an input broke (the input is a finding).
class InvariantBroken : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct Target {
  const char* name;
  // Returns 0; a crash, or an exception other than the parser's documented error, is a finding.
  int (*run)(const std::uint8_t* data, std::size_t size);
};

const std::vector<Target>& Targets();
const Target* FindTarget(const std::string& name);

}  // namespace bird_exporter::fuzz
