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

#include "state/store.h"
#include "support/fixtures.h"
#include "support/process.h"

namespace bird_exporter {
namespace {

using testing::AtMillis;

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

State SampleState() {
  State state;
  state.counted["382ef429-78ba-416d-899e-657d39d194ea"] = AtMillis(1698253274645);
  state.counted["c85a0f13-2e7b-4d96-9a4c-0b1f3e8d5a72"] = AtMillis(1732211500062);
  state.counted["e4027b9d-6a15-4c3e-8f0b-d9c1a6e2f457"] = AtMillis(1732210811500);
  state.channels[{"ws-1", "ch-a"}].window_start = AtMillis(1732211000000);
  state.channels[{"ws-1", "ch-a"}].since = AtMillis(1732210000000);
  state.channels[{"ws-1", "ch-b"}].window_start = AtMillis(1732211000123);
  state.channels[{"ws-2", "ch-a"}].window_start = AtMillis(-5);  // before the epoch round-trips
  ChannelState& busy = state.channels[{"ws-1", "ch-b"}];
  busy.gaps.push_back({"WzE3MzIyMTEwMDAwMDAsImlkIl0=", AtMillis(1732200000000)});
  TrackedCall open;
  open.call.id = "0f6c1e1a-8b9d-4c47-a1f2-3e4d5c6b7a80";
  open.call.status = CallStatus::kOngoing;
  open.call.direction = Direction::kIncoming;
  open.call.type = CallType::kSip;
  open.call.created_at = AtMillis(1732210000001);
  open.call.answered_at = AtMillis(1732210004001);
  open.next_check = AtMillis(1732211030000);
  busy.tracked[open.call.id] = open;
  TrackedCall ended;
  ended.call.id = "ended-1";
  ended.call.status = CallStatus::kCompleted;
  ended.call.direction = Direction::kOutgoing;
  ended.call.type = CallType::kPstn;
  ended.call.hangup_source = HangupSource::kCallee;
  ended.call.hangup_cause_code = 16;
  ended.call.hangup_sip_code = "200";
  ended.call.duration_seconds = 1234;
  ended.call.anomalies = {"createdAt", "qualityInsights.mos"};  // kept until the call is counted
  ended.call.created_at = AtMillis(1732210000002);
  ended.call.ringing_at = AtMillis(1732210001002);
  ended.call.ended_at = AtMillis(1732211000002);
  ended.call.remote_country = "PT";
  ended.call.mos = 4.21;
  ended.call.pdd_seconds = 1.5;
  ended.ended = true;
  ended.confirmed = true;
  ended.ended_noticed = AtMillis(1732211000500);
  ended.insights_due = AtMillis(1732211005500);
  ended.insights_attempts = 2;
  busy.tracked[ended.call.id] = ended;
  return state;
}

void ExpectSameCall(const Call& a, const Call& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.direction, b.direction);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.hangup_source, b.hangup_source);
  EXPECT_EQ(a.hangup_cause_code, b.hangup_cause_code);
  EXPECT_EQ(a.hangup_sip_code, b.hangup_sip_code);
  EXPECT_EQ(a.duration_seconds, b.duration_seconds);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.ringing_at, b.ringing_at);
  EXPECT_EQ(a.answered_at, b.answered_at);
  EXPECT_EQ(a.ended_at, b.ended_at);
  EXPECT_EQ(a.remote_country, b.remote_country);
  EXPECT_EQ(a.mos, b.mos);
  EXPECT_EQ(a.pdd_seconds, b.pdd_seconds);
}

void ExpectSameState(const State& actual, const State& expected) {
  EXPECT_EQ(actual.counted, expected.counted);
  ASSERT_EQ(actual.channels.size(), expected.channels.size());
  for (const auto& [key, want] : expected.channels) {
    const ChannelState& got = actual.channels.at(key);
    EXPECT_EQ(got.window_start, want.window_start);
    EXPECT_EQ(got.since, want.since);
    ASSERT_EQ(got.gaps.size(), want.gaps.size());
    for (std::size_t i = 0; i < want.gaps.size(); ++i) {
      EXPECT_EQ(got.gaps[i].page_token, want.gaps[i].page_token);
      EXPECT_EQ(got.gaps[i].lower, want.gaps[i].lower);
    }
    ASSERT_EQ(got.tracked.size(), want.tracked.size());
    for (const auto& [id, t] : want.tracked) {
      const TrackedCall& g = got.tracked.at(id);
      ExpectSameCall(g.call, t.call);
      EXPECT_EQ(g.next_check, t.next_check);
      EXPECT_EQ(g.ended, t.ended);
      EXPECT_EQ(g.confirmed, t.confirmed);
      if (t.ended) {
        EXPECT_EQ(g.ended_noticed, t.ended_noticed);
        EXPECT_EQ(g.insights_due, t.insights_due);
        EXPECT_EQ(g.insights_attempts, t.insights_attempts);
      }
    }
  }
}

// --- Serialisation --------------------------------------------------------------------------

TEST(StateTest, RoundTripsThroughText) {
  const State state = SampleState();
  ExpectSameState(ParseState(SerializeState(state)), state);
}

TEST(StateTest, RoundTripsEmptyState) {
  const State parsed = ParseState(SerializeState(State{}));
  EXPECT_TRUE(parsed.counted.empty());
  EXPECT_TRUE(parsed.channels.empty());
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
  ASSERT_EQ(state.channels.size(), 1u);
  const ChannelState& channel = state.channels.at({"w", "c"});
  EXPECT_EQ(channel.window_start, AtMillis(1732211000000));
  // A version 1 file followed nothing by id: listing down to its window once finds every call
  // it still had open.
  EXPECT_EQ(channel.since, AtMillis(1732211000000));
  EXPECT_TRUE(channel.tracked.empty());
  EXPECT_TRUE(state.IsCounted("id-1"));
  EXPECT_FALSE(state.IsCounted("id-3"));
}

TEST(StateTest, WritesVersion2) {
  EXPECT_NE(SerializeState(SampleState()).find(R"("version":2)"), std::string::npos);
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
        BadStateCase{"WrongVersion", R"({"version":3,"channels":[],"counted":{}})"},
        // Times beyond what the clock can hold (found by the state_file fuzz target).
        BadStateCase{"CountedTimeBeyondTheClock",
                     R"({"version":1,"channels":[],"counted":{"c1":1698253211500062}})"},
        BadStateCase{"WindowBeforeTheClock",
                     R"({"version":1,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":-9223372036854775807}],"counted":{}})"},
        BadStateCase{"CheckTimeBeyondTheClock",
                     R"({"version":2,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":1,"since_ms":1,"gaps":[],
                         "tracked":[{"call":{"id":"x"},"next_check_ms":18446744073709551615}]}],
                         "counted":{}})"},
        BadStateCase{"V2ChannelWithoutTracked",
                     R"({"version":2,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":1,"since_ms":1,"gaps":[]}],"counted":{}})"},
        BadStateCase{"V2TrackedWithoutId",
                     R"({"version":2,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":1,"since_ms":1,"gaps":[],
                         "tracked":[{"call":{"status":"ongoing"},"next_check_ms":1}]}],
                         "counted":{}})"},
        BadStateCase{"V2EndedWithoutSchedule",
                     R"({"version":2,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":1,"since_ms":1,"gaps":[],
                         "tracked":[{"call":{"id":"x"},"next_check_ms":1,"ended":true}]}],
                         "counted":{}})"},
        BadStateCase{"V2GapTokenNotString",
                     R"({"version":2,"channels":[{"workspace_id":"w","channel_id":"c",
                         "window_start_ms":1,"since_ms":1,"gaps":[{"page_token":1,"lower_ms":1}],
                         "tracked":[]}],"counted":{}})"},
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
  state.channels[{"w", "c"}].window_start = AtMillis(5);
  EXPECT_EQ(PruneState(state, AtMillis(1000)), 2u);
  EXPECT_THAT(state.counted, UnorderedElementsAre(Pair("at-cutoff", AtMillis(1000)),
                                                  Pair("newer", AtMillis(1001))));
  // Channel positions are not pruned.
  EXPECT_EQ(state.channels.size(), 1u);
  EXPECT_EQ(PruneState(state, AtMillis(1000)), 0u);
}

// --- SQLite store ------------------------------------------------------------------------------

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  // The calls and channels of `state` as one poll would record them.
  static PollRecord RecordOf(const State& state) {
    PollRecord record;
    for (const auto& [key, cs] : state.channels) record.channels.push_back({key, nullptr, &cs});
    for (const auto& [id, created] : state.counted) {
      record.counted.push_back({state.channels.begin()->first, id, created});
    }
    record.prune_before = AtMillis(0);
    return record;
  }

  static State Reopened(SqliteStateStore& store, const State& counted_from) {
    State state;
    state.channels = store.Open().channels;
    for (const auto& [id, created] : counted_from.counted) {
      if (store.IsCounted(id)) state.counted[id] = created;
    }
    return state;
  }

  testing::TempDir tmp_{"bird_exporter_state"};
  const std::filesystem::path dir_{tmp_.path()};
};

TEST_F(SqliteStoreTest, CreatesTheSchemaInANewDatabase) {
  {
    SqliteStateStore store(PathOf("state.db"));
    const OpenedState opened = store.Open();
    EXPECT_TRUE(opened.channels.empty());
    EXPECT_TRUE(opened.moved_aside.empty());
    EXPECT_FALSE(opened.migrated);
    EXPECT_EQ(store.CountedCalls(), 0u);
    EXPECT_FALSE(store.IsCounted("any"));
  }
  const std::string summary = SqliteStateStore::Inspect(PathOf("state.db"));
  EXPECT_THAT(summary, HasSubstr("schema version 1"));
  EXPECT_THAT(summary, HasSubstr("counted_calls 0"));
  struct stat st {};
  ASSERT_EQ(::stat(PathOf("state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "readable by its owner only";
}

TEST_F(SqliteStoreTest, RoundTripsAPollAcrossARestart) {
  const State state = SampleState();
  {
    SqliteStateStore store(PathOf("state.db"));
    store.Open();
    store.Commit(RecordOf(state));
    EXPECT_EQ(store.CountedCalls(), 3u);
  }
  SqliteStateStore store(PathOf("state.db"));
  ExpectSameState(Reopened(store, state), state);
  EXPECT_EQ(store.CountedCalls(), 3u);
}

TEST_F(SqliteStoreTest, RecordsOnlyWhatChangedAndForgetsWhatEnded) {
  State state = SampleState();
  SqliteStateStore store(PathOf("state.db"));
  store.Open();
  store.Commit(RecordOf(state));
  // The next poll: one followed call is counted and dropped, a channel moves on, another is
  // removed from the configuration.
  const ChannelKey busy{"ws-1", "ch-b"};
  const ChannelState before = state.channels.at(busy);
  ChannelState after = before;
  after.tracked.erase("ended-1");
  after.window_start = AtMillis(1732211999000);
  after.gaps.clear();
  PollRecord next;
  next.channels.push_back({busy, &before, &after});
  next.channels.push_back({{"ws-2", "ch-a"}, nullptr, nullptr});
  next.counted.push_back({busy, "ended-1", AtMillis(1732210900000)});
  next.prune_before = AtMillis(0);
  store.Commit(next);
  const OpenedState reopened = store.Open();
  ASSERT_EQ(reopened.channels.size(), 2u);
  EXPECT_EQ(reopened.channels.at(busy).tracked.size(), 1u);
  EXPECT_EQ(reopened.channels.at(busy).window_start, AtMillis(1732211999000));
  EXPECT_TRUE(reopened.channels.at(busy).gaps.empty());
  EXPECT_EQ(reopened.channels.count({"ws-2", "ch-a"}), 0u);
  EXPECT_TRUE(store.IsCounted("ended-1"));
  EXPECT_EQ(store.CountedCalls(), 4u);
}

TEST_F(SqliteStoreTest, PrunesByAgeInBatches) {
  SqliteStateStore store(PathOf("state.db"));
  store.Open();
  const ChannelKey key{"ws", "ch"};
  ChannelState cs;
  PollRecord fill;
  fill.channels.push_back({key, nullptr, &cs});
  const int old_calls = SqliteStateStore::kPruneBatch + 500;
  for (int i = 0; i < old_calls; ++i)
    fill.counted.push_back({key, "old" + std::to_string(i), AtMillis(i)});
  fill.counted.push_back({key, "new", AtMillis(10'000'000)});
  fill.prune_before = AtMillis(-1);
  store.Commit(fill);
  EXPECT_EQ(store.CountedCalls(), static_cast<std::size_t>(old_calls) + 1);
  PollRecord poll;
  poll.prune_before = AtMillis(5'000'000);
  store.Commit(poll);  // one batch
  EXPECT_EQ(store.CountedCalls(), 501u);
  store.Commit(poll);  // the rest
  EXPECT_EQ(store.CountedCalls(), 1u);
  EXPECT_FALSE(store.IsCounted("old0"));
  EXPECT_FALSE(store.IsCounted("old" + std::to_string(old_calls - 1)));
  EXPECT_TRUE(store.IsCounted("new"));
  // The count kept in the database matches the rows.
  EXPECT_THAT(SqliteStateStore::Inspect(PathOf("state.db")), HasSubstr("counted_calls 1\n"));
}

TEST_F(SqliteStoreTest, MigratesAVersion1JsonStateFileOnce) {
  std::filesystem::copy_file(std::string(TESTDATA_DIR) + "/state/state_v1.json",
                             PathOf("state.json"));
  {
    SqliteStateStore store(PathOf("state.json"));
    const OpenedState opened = store.Open();
    EXPECT_TRUE(opened.migrated);
    ASSERT_EQ(opened.channels.size(), 2u);
    EXPECT_EQ(opened.channels.at({"ws-1", "ch-b"}).window_start, AtMillis(1732211000123));
    // Version 1 listed back to its window start: followed calls start from there.
    EXPECT_EQ(opened.channels.at({"ws-1", "ch-b"}).since, AtMillis(1732211000123));
    EXPECT_EQ(store.CountedCalls(), 3u);
    EXPECT_TRUE(store.IsCounted("382ef429-78ba-416d-899e-657d39d194ea"));
    EXPECT_TRUE(store.IsCounted("c85a0f13-2e7b-4d96-9a4c-0b1f3e8d5a72"));
  }
  // The JSON file is kept beside the database, which has taken its name.
  EXPECT_TRUE(std::filesystem::exists(PathOf("state.json.migrated")));
  EXPECT_FALSE(std::filesystem::exists(PathOf("state.json.importing")));
  SqliteStateStore store(PathOf("state.json"));
  const OpenedState again = store.Open();
  EXPECT_FALSE(again.migrated) << "imported once";
  EXPECT_EQ(store.CountedCalls(), 3u);
  EXPECT_THAT(SqliteStateStore::Inspect(PathOf("state.json")),
              HasSubstr("counted_calls_imported_without_channel 3"));
}

TEST_F(SqliteStoreTest, AMigrationStoppedBetweenItsRenamesIsCompletedAtTheNextStart) {
  std::filesystem::copy_file(std::string(TESTDATA_DIR) + "/state/state_v1.json",
                             PathOf("state.json"));
  {
    SqliteStateStore store(PathOf("state.json"));
    store.Open();
  }
  // As if the process died after moving the JSON file away and before the import took its
  // place.
  std::filesystem::rename(PathOf("state.json"), PathOf("state.json.importing"));
  SqliteStateStore store(PathOf("state.json"));
  const OpenedState opened = store.Open();
  EXPECT_TRUE(opened.moved_aside.empty());
  EXPECT_EQ(store.CountedCalls(), 3u);
  EXPECT_TRUE(store.IsCounted("e4027b9d-6a15-4c3e-8f0b-d9c1a6e2f457"));
}

TEST_F(SqliteStoreTest, AnUnfinishedImportIsDoneAgainFromTheJsonFile) {
  std::filesystem::copy_file(std::string(TESTDATA_DIR) + "/state/state_v1.json",
                             PathOf("state.json"));
  {
    std::ofstream junk(PathOf("state.json.importing"), std::ios::binary);
    junk << "SQLite format 3";  // a file cut short before its import was committed
  }
  SqliteStateStore store(PathOf("state.json"));
  const OpenedState opened = store.Open();
  EXPECT_TRUE(opened.migrated);
  EXPECT_EQ(store.CountedCalls(), 3u);
}

TEST_F(SqliteStoreTest, ACorruptDatabaseIsMovedAsideAndReplaced) {
  {
    SqliteStateStore store(PathOf("state.db"));
    store.Open();
  }
  {
    // Damage every page after the header.
    std::fstream f(PathOf("state.db"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    const std::string garbage(8000, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  SqliteStateStore store(PathOf("state.db"));
  const OpenedState opened = store.Open();
  EXPECT_EQ(opened.moved_aside, PathOf("state.db.corrupt"));
  EXPECT_FALSE(opened.error.empty());
  EXPECT_TRUE(std::filesystem::exists(PathOf("state.db.corrupt")));
  ChannelState cs;
  PollRecord record;
  record.channels.push_back({{"ws", "ch"}, nullptr, &cs});
  record.counted.push_back({{"ws", "ch"}, "c1", AtMillis(1)});
  EXPECT_NO_THROW(store.Commit(record));
  EXPECT_TRUE(store.IsCounted("c1"));
}

TEST_F(SqliteStoreTest, AFileThatIsNeitherADatabaseNorJsonIsMovedAside) {
  {
    std::ofstream out(PathOf("state.db"), std::ios::binary);
    out << "garbage";
  }
  SqliteStateStore store(PathOf("state.db"));
  EXPECT_EQ(store.Open().moved_aside, PathOf("state.db.corrupt"));
  EXPECT_TRUE(store.IsOpen());
}

TEST_F(SqliteStoreTest, ASecondInstanceIsRefused) {
  SqliteStateStore first(PathOf("state.db"));
  first.Open();
  SqliteStateStore second(PathOf("state.db"));
  EXPECT_THROW(second.Open(), StateRefusedError);
  EXPECT_FALSE(second.IsOpen());
}

TEST_F(SqliteStoreTest, AMissingDirectoryIsAnErrorToRetryNotARefusal) {
  SqliteStateStore store(PathOf("missing/state.db"));
  try {
    store.Open();
    FAIL() << "opened in a missing directory";
  } catch (const StateRefusedError&) {
    FAIL() << "a missing directory must be retried, not refused";
  } catch (const StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing"));
  }
  std::filesystem::create_directory(PathOf("missing"));
  EXPECT_NO_THROW(store.Open());
}

TEST_F(SqliteStoreTest, InspectsAJsonStateFileWithoutChangingIt) {
  std::filesystem::copy_file(std::string(TESTDATA_DIR) + "/state/state_v1.json",
                             PathOf("state.json"));
  EXPECT_THAT(SqliteStateStore::Inspect(PathOf("state.json")), HasSubstr("counted_calls 3"));
  EXPECT_FALSE(std::filesystem::exists(PathOf("state.json.migrated")));
}

}  // namespace
}  // namespace bird_exporter

namespace bird_exporter {
namespace {

class StateDirectoryTest : public ::testing::Test {
 protected:
  // The message of the refusal, "" when the store opened.
  std::string OpenWithMode(mode_t mode) {
    EXPECT_EQ(::chmod(dir_.path().c_str(), mode), 0);
    SqliteStateStore store(dir_ / "state.db");
    try {
      store.Open();
      return "";
    } catch (const StateRefusedError& e) {
      return e.what();
    }
  }
  testing::TempDir dir_{"bird_exporter_state_dir"};
};

TEST_F(StateDirectoryTest, RefusesADirectoryEveryUserCanWriteInto) {
  EXPECT_THAT(OpenWithMode(0777), ::testing::HasSubstr("(mode 0777) is writable by every user"));
  // Even sticky, as /tmp is: another user could still plant the state file before it exists.
  EXPECT_THAT(OpenWithMode(01777), ::testing::HasSubstr("(mode 1777) is writable by every user"));
  EXPECT_EQ(OpenWithMode(0700), "");
  EXPECT_EQ(OpenWithMode(0755), "");
}

TEST_F(StateDirectoryTest, AcceptsAGroupWritableDirectoryOnlyOfItsOwnGroup) {
  // Its own group, as with a Kubernetes fsGroup volume (mode 2775).
  ASSERT_EQ(::chown(dir_.path().c_str(), ::geteuid(), ::getegid()), 0);
  EXPECT_EQ(OpenWithMode(02775), "");
  if (::geteuid() != 0) GTEST_SKIP() << "changing the group to a foreign one needs root";
  ASSERT_EQ(::chown(dir_.path().c_str(), 0, 54321), 0);
  EXPECT_THAT(OpenWithMode(0770), ::testing::HasSubstr("is writable by group 54321"));
}

}  // namespace
}  // namespace bird_exporter

namespace bird_exporter {
namespace {

TEST(StateTest, RefusesACountryThatIsNoIsoCode) {
  TrackedCall t;
  t.call.id = "c1";
  t.call.remote_country = "NL";
  const std::string good = SerializeTracked(t);
  EXPECT_EQ(ParseTracked(good).call.remote_country, "NL");
  for (const char* bad : {"nl", "NLD", "N", "x\"y", "unknown2"}) {
    std::string text = good;
    text.replace(text.find("\"NL\""), 4, std::string("\"") + bad + "\"");
    EXPECT_THROW(ParseTracked(text), StateError) << text;
  }
  t.call.remote_country = "unknown";
  EXPECT_EQ(ParseTracked(SerializeTracked(t)).call.remote_country, "unknown");
}

}  // namespace
}  // namespace bird_exporter
