// Shell commands, files and temporary directories for the tests: one copy of each helper.
#pragma once

#include <filesystem>
#include <string>

namespace bird_exporter::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not be run or did not exit normally
  std::string output;
};

// Runs `command` with /bin/sh; the output holds its standard output and standard error.
CommandResult RunCommand(const std::string& command);
// The same, with standard output only (for output that is parsed: YAML, JSON).
CommandResult RunCommandStdout(const std::string& command);

// `text` single-quoted for /bin/sh.
std::string ShellQuote(const std::string& text);

// The whole file, or "" when it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

// A fresh directory /tmp/<prefix>_XXXXXX, removed with everything in it when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "bird_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() / name, as a string.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace bird_exporter::testing
