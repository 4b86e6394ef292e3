// Reads and atomically replaces the state file (temp file, fsync, rename, fsync of the
// directory), so a crash at any moment leaves either the old or the new state on disk.
#pragma once

#include <optional>
#include <string>

#include "state/state.h"

namespace bird_exporter {

class StateFile {
 public:
  explicit StateFile(std::string path);

  const std::string& path() const { return path_; }

  // nullopt when the file does not exist. Throws StateError when it exists but cannot be read
  // or parsed (the caller logs it and starts empty; the next Save replaces the file).
  std::optional<State> Load() const;

  // Throws StateError with the errno reason when the state could not be made durable.
  void Save(const State& state) const;

 private:
  std::string path_;
};

}  // namespace bird_exporter
