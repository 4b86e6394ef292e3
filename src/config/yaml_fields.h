// Reading a YAML configuration field by field, with the key path and line of every error: the
// helper shared by the main configuration and the web configuration. YAML itself lets unknown
// and repeated keys through silently; MappingOf does not.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bird_exporter::yaml {

// A node together with the key path and line that error messages name. The line is the key's
// (or the list item's): that is where a reader looks, even when the value sits on a later line.
struct Field {
  YAML::Node node;
  std::string path;
  int line;
};

struct Mapping {
  Field self;
  std::map<std::string, Field, std::less<>> entries;

  const Field* Find(std::string_view key) const {
    const auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
  }
};

// What is wrong at a key path and line. what(): "bird.page_size (line 7): must be between 1
// and 1000" (the caller adds its prefix, "config: " or "web config: ").
class FieldError : public std::runtime_error {
 public:
  FieldError(int line, std::string path, std::string reason);
  int line() const { return line_; }
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  int line_;
  std::string path_, reason_;
};

// A document YAML cannot parse; what(): "line 3: illegal map value", or, when an indentation
// holds a tab (which YAML forbids, and which yaml-cpp explains vaguely), "line 3, column 1:
// tabs are not allowed in YAML indentation; indent with spaces".
class SyntaxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole of a file; std::runtime_error with the system's reason (a directory too: EISDIR).
std::string ReadWholeFile(const std::string& path);

// The document of `text` (a null node for an empty one). Throws SyntaxError.
YAML::Node Load(std::string_view text);

// The document's root as a field: no path, the line where it starts.
Field Root(const YAML::Node& root);

[[noreturn]] void Fail(int line, const std::string& path, const std::string& reason);
[[noreturn]] void Fail(const Field& f, const std::string& reason);

// "parent.key", or "key" at the top.
std::string Join(const std::string& parent, std::string_view key);

// Told of an error the reading can go on after (an unknown, repeated or non-string key: that
// entry is left out). A sink that throws stops at the first error.
using ErrorSink = std::function<void(const FieldError&)>;
// The closest valid key to an unknown one ("poll.interval"), or "" when none is close.
using KeySuggestion = std::function<std::string(const std::string& parent, std::string_view key)>;

// The entries of a mapping (Fail when `f` is none), each key checked against `allowed`.
// `unsupported` keys are known but not implemented, and named as such.
Mapping MappingOf(const Field& f, const std::vector<std::string_view>& allowed,
                  const ErrorSink& sink, const std::vector<std::string_view>& unsupported = {},
                  const KeySuggestion& suggest = nullptr);

// A missing key is reported at its parent, the closest line that exists.
const Field& Require(const Mapping& m, std::string_view key);

// The items of a list (Fail with "expected a list" when `f` is none), each with its own path
// ("workspaces[2]") and line; an empty item ("-" alone) has the list's line.
std::vector<Field> Items(const Field& f);

// Typed values from a field's scalar text (which the caller may have expanded), or Fail with
// the message every key of that type shares.
int IntegerIn(const Field& f, std::string_view text, int min, int max);  // "must be between..."
double Number(const Field& f, std::string_view text);                    // "expected a number"
bool Boolean(const Field& f, std::string_view text);                     // true or false

// Levenshtein distance of `a` and `b`, or `limit` when it is at least that (cheap for a key
// much longer than every valid one).
std::size_t EditDistance(std::string_view a, std::string_view b, std::size_t limit);

}  // namespace bird_exporter::yaml
