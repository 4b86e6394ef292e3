#include "support/fixtures.h"

#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace bird_exporter::testing {

std::string ReadFixture(const std::string& name) {
  const std::string path = std::string(TESTDATA_DIR) + "/bird/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

SystemTime AtMillis(std::int64_t ms) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace bird_exporter::testing
