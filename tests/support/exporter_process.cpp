#include "support/exporter_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <sstream>
#include <thread>

#include "support/process.h"

namespace bird_exporter::testing {

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

Samples ParseExposition(const std::string& text) {
  Samples samples;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double SumSamples(const Samples& samples, const std::string& name,
                  const std::vector<std::string>& labels) {
  double total = 0;
  for (const auto& [series, value] : samples) {
    const auto brace = series.find('{');
    if (series.substr(0, brace) != name) continue;
    bool match = true;
    for (const auto& label : labels) {
      if (series.find(label) == std::string::npos) match = false;
    }
    if (match) total += value;
  }
  return total;
}

ExporterProcess::ExporterProcess(const std::string& binary, const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env,
                                 const std::string& work_dir) {
  static int counter = 0;
  log_path_ = work_dir + "/exporter-" + std::to_string(++counter) + ".log";
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    // The child dies with the test process, even when a test crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
}

ExporterProcess::~ExporterProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int ExporterProcess::WaitForPort(std::chrono::milliseconds timeout) {
  const std::regex listening("listening\"? address=\\S+ port=(\\d+)");
  WaitFor(
      [&] {
        std::smatch match;
        const std::string log = Log();
        if (std::regex_search(log, match, listening)) port_ = std::stoi(match[1]);
        return port_ != 0 || !Running();
      },
      timeout);
  return port_;
}

std::string ExporterProcess::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::optional<int> ExporterProcess::Stop(int signal_number, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  kill(pid_, signal_number);
  std::optional<int> result;
  WaitFor(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          pid_ = -1;
          return true;
        }
        return false;
      },
      timeout);
  return result;
}

bool ExporterProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string ExporterProcess::Log() const { return ReadFile(log_path_); }

}  // namespace bird_exporter::testing
