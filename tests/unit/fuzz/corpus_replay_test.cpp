// Replays the committed fuzz corpus (seeds and every finding of scripts/fuzz.sh) through the
// fuzz targets: a finding that was fixed stays fixed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "fuzz/targets.h"

namespace bird_exporter::fuzz {
namespace {

namespace fs = std::filesystem;

class CorpusReplayTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusReplayTest, EveryInputIsHandledWithoutAFinding) {
  const Target* target = FindTarget(GetParam());
  ASSERT_NE(target, nullptr);
  const fs::path dir = fs::path(FUZZ_CORPUS_DIR) / GetParam();
  ASSERT_TRUE(fs::is_directory(dir)) << dir << ": every target has a seed corpus";
  int inputs = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NO_THROW(target->run(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()))
        << entry.path();
    ++inputs;
  }
  EXPECT_GT(inputs, 0) << dir;
}

std::vector<std::string> TargetNames() {
  std::vector<std::string> names;
  for (const Target& t : Targets()) names.push_back(t.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Targets, CorpusReplayTest, ::testing::ValuesIn(TargetNames()),
                         [](const auto& info) { return info.param; });

TEST(CorpusReplayTest, NoCorpusWithoutATarget) {
  std::set<std::string> names;
  for (const Target& t : Targets()) names.insert(t.name);
  for (const auto& entry : fs::directory_iterator(FUZZ_CORPUS_DIR)) {
    EXPECT_EQ(names.count(entry.path().filename().string()), 1u) << entry.path();
  }
}

}  // namespace
}  // namespace bird_exporter::fuzz
