#include "config/yaml_fields.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/web_config.h"

namespace bird_exporter::yaml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Messages(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const FieldError& e : errors) out.push_back(e.what());
  return out;
}

TEST(YamlFields, ACollectingSinkHearsOfEveryBadKeyAndTheGoodOnesAreRead) {
  const YAML::Node root = Load("a: 1\nb: 2\n[x]: 3\nc: 4\na: 5\nzz: 6\n");
  std::vector<FieldError> errors;
  const Mapping m = MappingOf(Root(root), {"a", "b", "zz"},
                              [&](const FieldError& e) { errors.push_back(e); }, {"c"});
  EXPECT_THAT(Messages(errors), ElementsAre(" (line 3): keys must be strings",
                                            "c (line 4): not supported by bird_call_exporter",
                                            "a (line 5): duplicate key"));
  ASSERT_NE(m.Find("a"), nullptr);
  EXPECT_EQ(m.Find("a")->node.as<int>(), 1);  // the first one
  EXPECT_EQ(m.Find("a")->line, 1);
  EXPECT_EQ(m.Find("b")->path, "b");
  EXPECT_EQ(m.Find("zz")->line, 6);
  EXPECT_EQ(m.Find("c"), nullptr);
}

TEST(YamlFields, AThrowingSinkStopsAtTheFirstBadKey) {
  const YAML::Node root = Load("top:\n  good: 1\n  bda: 2\n  worse: 3\n");
  const Mapping top = MappingOf(Root(root), {"top"}, [](const FieldError& e) { throw e; });
  try {
    MappingOf(
        Require(top, "top"), {"good", "bad"}, [](const FieldError& e) { throw e; }, {},
        [](const std::string& parent, std::string_view) { return Join(parent, "bad"); });
    FAIL() << "no error";
  } catch (const FieldError& e) {
    EXPECT_STREQ(e.what(), "top.bda (line 3): unknown key; did you mean top.bad?");
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.path(), "top.bda");
    EXPECT_EQ(e.reason(), "unknown key; did you mean top.bad?");
  }
}

TEST(YamlFields, AMissingKeyIsReportedAtItsParent) {
  const YAML::Node root = Load("\n\nsection:\n  other: 1\n");
  const Mapping top = MappingOf(Root(root), {"section"}, [](const FieldError& e) { throw e; });
  const Mapping section =
      MappingOf(Require(top, "section"), {"other", "id"}, [](const FieldError& e) { throw e; });
  try {
    Require(section, "id");
    FAIL() << "no error";
  } catch (const FieldError& e) {
    EXPECT_STREQ(e.what(), "section.id (line 3): required key missing");
  }
}

TEST(YamlFields, ListItemsHaveTheirOwnPathAndLine) {
  const YAML::Node root = Load("list:\n  - one\n  -\n  - three\n");
  const Mapping top = MappingOf(Root(root), {"list"}, [](const FieldError& e) { throw e; });
  const std::vector<Field> items = Items(Require(top, "list"));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].path, "list[0]");
  EXPECT_EQ(items[0].line, 2);
  EXPECT_EQ(items[1].line, 1);  // an empty item: the list's line
  EXPECT_EQ(items[2].path, "list[2]");
  EXPECT_EQ(items[2].line, 4);
  EXPECT_THROW(Items(items[0]), FieldError);
}

TEST(YamlFields, TypedValuesShareTheirMessages) {
  const Field f{YAML::Node(), "bird.page_size", 7};
  EXPECT_EQ(IntegerIn(f, "1000", 1, 1000), 1000);
  const auto message = [&](auto read) {
    try {
      read();
    } catch (const FieldError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { IntegerIn(f, "1001", 1, 1000); }),
            "bird.page_size (line 7): must be between 1 and 1000");
  EXPECT_EQ(message([&] { IntegerIn(f, "99999999999999999999", 1, 1000); }),
            "bird.page_size (line 7): must be between 1 and 1000");
  EXPECT_EQ(message([&] { IntegerIn(f, "5x", 1, 1000); }),
            "bird.page_size (line 7): expected an integer");
  EXPECT_EQ(Number(f, "2.5"), 2.5);
  EXPECT_EQ(message([&] { Number(f, "2.5.1"); }), "bird.page_size (line 7): expected a number");
  EXPECT_TRUE(Boolean(f, "true"));
  EXPECT_FALSE(Boolean(f, "false"));
  EXPECT_EQ(message([&] { Boolean(f, "yes"); }), "bird.page_size (line 7): expected true or false");
}

TEST(YamlFields, SyntaxErrorsNameTheLineAndExplainTabs) {
  try {
    Load("a: 1\nb: [\n");
    FAIL() << "no error";
  } catch (const SyntaxError& e) {
    EXPECT_THAT(e.what(), HasSubstr("line "));
  }
  try {
    Load("a:\n\tb: 1\n");
    FAIL() << "no error";
  } catch (const SyntaxError& e) {
    EXPECT_STREQ(e.what(),
                 "line 2, column 1: tabs are not allowed in YAML indentation; indent with spaces");
  }
}

// The web configuration reads through the same helper, so it explains tabs as well.
TEST(YamlFields, TheWebConfigurationExplainsTabsToo) {
  try {
    ParseWebConfig("basic_auth_users:\n\tprometheus: x\n");
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "web config: line 2, column 1: tabs are not allowed in YAML indentation; indent "
                 "with spaces");
  }
}

TEST(YamlFields, EditDistanceStopsAtItsLimit) {
  EXPECT_EQ(EditDistance("interval", "interval", 3), 0u);
  EXPECT_EQ(EditDistance("intervl", "interval", 3), 1u);
  EXPECT_EQ(EditDistance(std::string(1 << 20, 'x'), "interval", 3), 3u);
}

}  // namespace
}  // namespace bird_exporter::yaml
