#include "poller/shard.h"

#include <gtest/gtest.h>

#include <string>

namespace bird_exporter {
namespace {

TEST(ShardTest, ChannelHashIsStableAcrossReleases) {
  // Golden values: changing the hash would move channels between shards on upgrade.
  EXPECT_EQ(ChannelHash("", ""), 0xaf63a24c860189feull);  // FNV-1a 64 of "/"
  EXPECT_EQ(
      ChannelHash("2d7c3f1e-5a4b-4c8d-9e0f-1a2b3c4d5e6f", "9f1e2d3c-4b5a-4697-8870-a1b2c3d4e5f6"),
      0xab34b8a6d7aa0446ull);
  EXPECT_EQ(ChannelHash("ws", "ch"), ChannelHash("ws", "ch"));
  EXPECT_NE(ChannelHash("ws", "ch"), ChannelHash("ch", "ws"));
  EXPECT_NE(ChannelHash("a/b", "c"), ChannelHash("a", "b/c") + 1);
}

TEST(ShardTest, EveryChannelFallsInExactlyOneShard) {
  for (int count = 1; count <= 7; ++count) {
    std::vector<int> per_shard(count, 0);
    for (int c = 0; c < 500; ++c) {
      const std::string channel = "channel-" + std::to_string(c);
      int owners = 0;
      for (int index = 0; index < count; ++index) {
        if (InShard("workspace", channel, {index, count})) {
          ++owners;
          ++per_shard[index];
        }
      }
      EXPECT_EQ(owners, 1) << channel << " count=" << count;
    }
    for (int index = 0; index < count; ++index) {
      // A reasonably even split: no shard gets less than half its fair share of 500 channels.
      EXPECT_GT(per_shard[index], 250 / count) << "index=" << index << " count=" << count;
    }
  }
}

TEST(ShardTest, ASingleShardOwnsEverything) { EXPECT_TRUE(InShard("any", "thing", {0, 1})); }

TEST(ShardTest, ReadsTheOrdinalAtTheEndOfAStatefulSetHostname) {
  EXPECT_EQ(OrdinalFromHostname("bird-call-exporter-0"), 0);
  EXPECT_EQ(OrdinalFromHostname("bird-call-exporter-12"), 12);
  EXPECT_EQ(OrdinalFromHostname("bird-call-exporter"), std::nullopt);
  EXPECT_EQ(OrdinalFromHostname("host"), std::nullopt);
  EXPECT_EQ(OrdinalFromHostname("host-"), std::nullopt);
  EXPECT_EQ(OrdinalFromHostname("host-1a"), std::nullopt);
}

struct ShardCase {
  std::string index, count, hostname;
  int want_index;  // -1: an error is expected
  int want_count;
  std::string error;
};

class ParseShardTest : public ::testing::TestWithParam<ShardCase> {};

TEST_P(ParseShardTest, ParsesOrExplains) {
  const ShardCase& c = GetParam();
  std::string error;
  const auto shard = ParseShard(c.index, c.count, c.hostname, error);
  if (c.want_index < 0) {
    EXPECT_FALSE(shard.has_value());
    EXPECT_EQ(error, c.error);
  } else {
    ASSERT_TRUE(shard.has_value()) << error;
    EXPECT_EQ(shard->index, c.want_index);
    EXPECT_EQ(shard->count, c.want_count);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseShardTest,
    ::testing::Values(
        ShardCase{"0", "1", "h", 0, 1, ""}, ShardCase{"2", "3", "h", 2, 3, ""},
        ShardCase{"auto", "3", "bird-call-exporter-1", 1, 3, ""},
        ShardCase{"3", "3", "h", -1, 0, "--shard.index: 3 is not below --shard.count 3"},
        ShardCase{"auto", "2", "bird-call-exporter-2", -1, 0,
                  "--shard.index: 2 is not below --shard.count 2"},
        ShardCase{"auto", "2", "laptop", -1, 0,
                  "--shard.index=auto: hostname \"laptop\" does not end in -<ordinal> (as "
                  "StatefulSet pods do)"},
        ShardCase{"-1", "2", "h", -1, 0,
                  "--shard.index: expected a whole number or auto, got \"-1\""},
        ShardCase{"0", "0", "h", -1, 0,
                  "--shard.count: expected a whole number of at least 1, got \"0\""},
        ShardCase{"0", "two", "h", -1, 0,
                  "--shard.count: expected a whole number of at least 1, got \"two\""}));

}  // namespace
}  // namespace bird_exporter
