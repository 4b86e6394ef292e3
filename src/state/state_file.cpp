#include "state/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bird_exporter {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

StateFile::StateFile(std::string path) : path_(std::move(path)) {}

std::optional<State> StateFile::Load() const {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return std::nullopt;
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw StateError(Errno("cannot open state file " + path_));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseState(buffer.str());
}

void StateFile::Save(const State& state) const {
  const std::string text = SerializeState(state);
  const std::filesystem::path target(path_);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  const std::string tmp = path_ + ".tmp";

  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) throw StateError(Errno("cannot create " + tmp));
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw StateError(Errno("cannot write " + tmp));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) throw StateError(Errno("cannot fsync " + tmp));
  if (::close(fd.Release()) != 0) throw StateError(Errno("cannot close " + tmp));
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    throw StateError(Errno("cannot rename " + tmp + " to " + path_));
  }
  // The rename itself is durable only once the directory entry is flushed.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0 && ::fsync(dir_fd.get()) != 0) {
    throw StateError(Errno("cannot fsync directory " + dir.string()));
  }
}

}  // namespace bird_exporter
