#include "config/yaml_fields.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>

namespace bird_exporter::yaml {
namespace {

// The first line, up to `last_line` (1-based), whose indentation holds a tab, with its column;
// {0, 0}: none.
std::pair<int, int> TabIndentation(std::string_view text, int last_line) {
  int line = 1;
  for (std::size_t start = 0; start <= text.size() && line <= last_line; ++line) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    for (std::size_t i = start; i < end && (text[i] == ' ' || text[i] == '\t'); ++i) {
      if (text[i] == '\t') return {line, static_cast<int>(i - start) + 1};
    }
    start = end + 1;
  }
  return {0, 0};
}

}  // namespace

std::string ReadWholeFile(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) throw std::runtime_error(std::strerror(errno));
  std::string contents;
  char buffer[4096];
  while (const size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
    contents.append(buffer, n);
  }
  // A directory opens fine and only fails here, with EISDIR.
  if (std::ferror(file.get())) throw std::runtime_error(std::strerror(errno));
  return contents;
}

FieldError::FieldError(int line, std::string path, std::string reason)
    : std::runtime_error(path + " (line " + std::to_string(line) + "): " + reason),
      line_(line),
      path_(std::move(path)),
      reason_(std::move(reason)) {}

YAML::Node Load(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const auto [tab_line, tab_column] =
        TabIndentation(text, e.mark.is_null() ? 1 << 30 : e.mark.line + 1);
    if (tab_line > 0) {
      throw SyntaxError("line " + std::to_string(tab_line) + ", column " +
                        std::to_string(tab_column) +
                        ": tabs are not allowed in YAML indentation; indent with spaces");
    }
    if (e.mark.is_null()) throw SyntaxError(e.msg);
    throw SyntaxError("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Field Root(const YAML::Node& root) { return Field{root, "", root.Mark().line + 1}; }

void Fail(int line, const std::string& path, const std::string& reason) {
  throw FieldError(line, path, reason);
}

void Fail(const Field& f, const std::string& reason) { Fail(f.line, f.path, reason); }

std::string Join(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

Mapping MappingOf(const Field& f, const std::vector<std::string_view>& allowed,
                  const ErrorSink& sink, const std::vector<std::string_view>& unsupported,
                  const KeySuggestion& suggest) {
  if (!f.node.IsMap()) Fail(f, "expected a mapping");
  Mapping m{f, {}};
  for (const auto& kv : f.node) {
    const int line = kv.first.Mark().line + 1;
    if (!kv.first.IsScalar()) {
      sink(FieldError(line, f.path, "keys must be strings"));
      continue;
    }
    const std::string& key = kv.first.Scalar();
    Field entry{kv.second, Join(f.path, key), line};
    if (std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end()) {
      sink(FieldError(entry.line, entry.path, "not supported by bird_call_exporter"));
    } else if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      const std::string nearest = suggest ? suggest(f.path, key) : "";
      sink(FieldError(
          entry.line, entry.path,
          nearest.empty() ? "unknown key" : "unknown key; did you mean " + nearest + "?"));
    } else if (!m.entries.emplace(key, entry).second) {
      sink(FieldError(entry.line, entry.path, "duplicate key"));
    }
  }
  return m;
}

const Field& Require(const Mapping& m, std::string_view key) {
  if (const Field* f = m.Find(key)) return *f;
  Fail(m.self.line, Join(m.self.path, key), "required key missing");
}

std::vector<Field> Items(const Field& f) {
  if (!f.node.IsSequence()) Fail(f, "expected a list");
  std::vector<Field> items;
  for (const YAML::Node& item : f.node) {
    const int line = item.IsNull() ? f.line : item.Mark().line + 1;
    items.push_back({item, f.path + "[" + std::to_string(items.size()) + "]", line});
  }
  return items;
}

int IntegerIn(const Field& f, std::string_view text, int min, int max) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() && ec != std::errc::result_out_of_range) Fail(f, "expected an integer");
  if (end != text.data() + text.size()) Fail(f, "expected an integer");
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    Fail(f, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<int>(value);
}

double Number(const Field& f, std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) Fail(f, "expected a number");
  return value;
}

bool Boolean(const Field& f, std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  Fail(f, "expected true or false");
}

std::size_t EditDistance(std::string_view a, std::string_view b, std::size_t limit) {
  // The distance is at least the difference in length and at least the smallest value of any
  // row, so the rows stop as soon as either reaches the limit.
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) >= limit) return limit;
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    std::size_t row_min = row[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      std::size_t value = diagonal + (a[i - 1] != b[j - 1] ? 1 : 0);
      if (up + 1 < value) value = up + 1;
      if (row[j - 1] + 1 < value) value = row[j - 1] + 1;
      row[j] = value;
      diagonal = up;
      if (value < row_min) row_min = value;
    }
    if (row_min >= limit) return limit;
  }
  return row[b.size()] < limit ? row[b.size()] : limit;
}

}  // namespace bird_exporter::yaml
