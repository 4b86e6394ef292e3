#include "state/state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "state/state_file.h"

namespace bird_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

SystemTime AtMillis(std::int64_t ms) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

State SampleState() {
  State state;
  state.counted["382ef429-78ba-416d-899e-657d39d194ea"] = AtMillis(1698253274645);
  state.counted["c85a0f13-2e7b-4d96-9a4c-0b1f3e8d5a72"] = AtMillis(1732211500062);
  state.counted["e4027b9d-6a15-4c3e-8f0b-d9c1a6e2f457"] = AtMillis(1732210811500);
  state.window_start[{"ws-1", "ch-a"}] = AtMillis(1732211000000);
  state.window_start[{"ws-1", "ch-b"}] = AtMillis(1732211000123);
  state.window_start[{"ws-2", "ch-a"}] = AtMillis(-5);  // before the epoch still round-trips
  return state;
}

void ExpectSameState(const State& actual, const State& expected) {
  EXPECT_EQ(actual.counted, expected.counted);
  EXPECT_EQ(actual.window_start, expected.window_start);
}

// --- Serialisation --------------------------------------------------------------------------

TEST(StateTest, RoundTripsThroughText) {
  const State state = SampleState();
  ExpectSameState(ParseState(SerializeState(state)), state);
}

TEST(StateTest, RoundTripsEmptyState) {
  const State parsed = ParseState(SerializeState(State{}));
  EXPECT_TRUE(parsed.counted.empty());
  EXPECT_TRUE(parsed.window_start.empty());
}

TEST(StateTest, KeepsMillisecondPrecision) {
  State state;
  // Sub-millisecond parts are not stored; Bird timestamps carry milliseconds.
  state.counted["a"] = AtMillis(1732211000123) + std::chrono::microseconds(456);
  const State parsed = ParseState(SerializeState(state));
  EXPECT_EQ(parsed.counted.at("a"), AtMillis(1732211000123));
}

TEST(StateTest, ReadsDocumentedLayout) {
  const State state = ParseState(
      R"({"version":1,
          "channels":[{"workspace_id":"w","channel_id":"c","window_start_ms":1732211000000}],
          "counted":{"id-1":1732210811500,"id-2":0}})");
  EXPECT_THAT(state.counted, UnorderedElementsAre(Pair("id-1", AtMillis(1732210811500)),
                                                  Pair("id-2", AtMillis(0))));
  EXPECT_THAT(state.window_start,
              UnorderedElementsAre(Pair(ChannelKey{"w", "c"}, AtMillis(1732211000000))));
  EXPECT_TRUE(state.IsCounted("id-1"));
  EXPECT_FALSE(state.IsCounted("id-3"));
}

struct BadStateCase {
  const char* behaviour;
  const char* text;
};

class ParseStateErrorTest : public ::testing::TestWithParam<BadStateCase> {};

TEST_P(ParseStateErrorTest, RejectsState) {
  EXPECT_THROW(ParseState(GetParam().text), StateError) << GetParam().text;
}

std::string BadStateName(const ::testing::TestParamInfo<BadStateCase>& info) {
  return info.param.behaviour;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseStateErrorTest,
    ::testing::Values(
        BadStateCase{"Empty", ""}, BadStateCase{"NotJson", "not json"},
        BadStateCase{"Truncated", R"({"version":1,"channels":[)"}, BadStateCase{"Array", "[]"},
        BadStateCase{"Number", "1"},
        BadStateCase{"MissingVersion", R"({"channels":[],"counted":{}})"},
        BadStateCase{"WrongVersion", R"({"version":2,"channels":[],"counted":{}})"},
        BadStateCase{"VersionAsString", R"({"version":"1","channels":[],"counted":{}})"},
        BadStateCase{"VersionAsFloat", R"({"version":1.5,"channels":[],"counted":{}})"},
        BadStateCase{"MissingChannels", R"({"version":1,"counted":{}})"},
        BadStateCase{"ChannelsNotArray", R"({"version":1,"channels":{},"counted":{}})"},
        BadStateCase{"ChannelNotObject", R"({"version":1,"channels":[1],"counted":{}})"},
        BadStateCase{"ChannelWithoutWorkspace",
                     R"({"version":1,"channels":[{"channel_id":"c","window_start_ms":1}],
                         "counted":{}})"},
        BadStateCase{"ChannelIdNotString",
                     R"({"version":1,"channels":[{"workspace_id":"w","channel_id":7,
                         "window_start_ms":1}],"counted":{}})"},
        BadStateCase{"WindowStartAsString",
                     R"({"version":1,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":"1"}],"counted":{}})"},
        BadStateCase{"WindowStartAsFloat",
                     R"({"version":1,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":1.5}],"counted":{}})"},
        BadStateCase{"MissingCounted", R"({"version":1,"channels":[]})"},
        BadStateCase{"CountedNotObject", R"({"version":1,"channels":[],"counted":["a"]})"},
        BadStateCase{"CountedTimeAsString",
                     R"({"version":1,"channels":[],"counted":{"a":"1732210811500"}})"},
        BadStateCase{"CountedTimeNull", R"({"version":1,"channels":[],"counted":{"a":null}})"}),
    BadStateName);

// --- Pruning --------------------------------------------------------------------------------

TEST(StateTest, PrunesExactlyTheCallsCreatedBeforeTheCutoff) {
  State state;
  state.counted["older"] = AtMillis(999);
  state.counted["much-older"] = AtMillis(10);
  state.counted["at-cutoff"] = AtMillis(1000);
  state.counted["newer"] = AtMillis(1001);
  state.window_start[{"w", "c"}] = AtMillis(5);
  EXPECT_EQ(PruneState(state, AtMillis(1000)), 2u);
  EXPECT_THAT(state.counted, UnorderedElementsAre(Pair("at-cutoff", AtMillis(1000)),
                                                  Pair("newer", AtMillis(1001))));
  // Channel positions are not pruned.
  EXPECT_EQ(state.window_start.size(), 1u);
  EXPECT_EQ(PruneState(state, AtMillis(1000)), 0u);
}

// --- State file -------------------------------------------------------------------------------

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "bird_exporter_state_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  std::vector<std::string> DirectoryEntries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  std::filesystem::path dir_;
};

TEST_F(StateFileTest, LoadsNothingWhenFileIsMissing) {
  const StateFile file(PathOf("state.json"));
  EXPECT_EQ(file.path(), PathOf("state.json"));
  EXPECT_EQ(file.Load(), std::nullopt);
}

TEST_F(StateFileTest, SavesAndLoadsState) {
  const StateFile file(PathOf("state.json"));
  const State state = SampleState();
  file.Save(state);
  const std::optional<State> loaded = file.Load();
  ASSERT_TRUE(loaded.has_value());
  ExpectSameState(*loaded, state);
}

TEST_F(StateFileTest, ReplacesPreviousState) {
  const StateFile file(PathOf("state.json"));
  file.Save(SampleState());
  State smaller;
  smaller.counted["only"] = AtMillis(42);
  file.Save(smaller);
  const std::optional<State> loaded = file.Load();
  ASSERT_TRUE(loaded.has_value());
  ExpectSameState(*loaded, smaller);
}

TEST_F(StateFileTest, LeavesNoTemporaryFileBehind) {
  const StateFile file(PathOf("state.json"));
  file.Save(SampleState());
  file.Save(SampleState());
  EXPECT_THAT(DirectoryEntries(), ::testing::ElementsAre("state.json"));
}

TEST_F(StateFileTest, WritesFileReadableByOwnerOnly) {
  const StateFile file(PathOf("state.json"));
  file.Save(SampleState());
  struct stat st {};
  ASSERT_EQ(::stat(PathOf("state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFileTest, ThrowsOnCorruptFile) {
  {
    std::ofstream out(PathOf("state.json"));
    out << R"({"version":1,"channels":[)";
  }
  const StateFile file(PathOf("state.json"));
  EXPECT_THROW(file.Load(), StateError);
}

TEST_F(StateFileTest, ThrowsOnEmptyFile) {
  { std::ofstream out(PathOf("state.json")); }
  EXPECT_THROW(StateFile(PathOf("state.json")).Load(), StateError);
}

TEST_F(StateFileTest, ThrowsWhenSavingIntoMissingDirectory) {
  const StateFile file(PathOf("missing/state.json"));
  try {
    file.Save(SampleState());
    FAIL() << "Save into a missing directory succeeded";
  } catch (const StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
  EXPECT_THAT(DirectoryEntries(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace bird_exporter
