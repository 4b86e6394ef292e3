// Runs the real bird_call_exporter binary as a child process for end-to-end tests, and reads
// its /metrics over real HTTP. The child is killed when the object goes away, even on failure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.h"  // HttpGet, HttpResult: exporter tests use them through here

namespace bird_exporter::testing {

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Parsed text exposition: "name{a=\"x\",b=\"y\"}" -> value, labels as served (sorted by name).
using Samples = std::map<std::string, double>;

// Built with ASan or TSan (scripts/sanitize.sh): memory figures then include the sanitizer's
// shadow memory and are not the exporter's, so tests leave those assertions out.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
Samples ParseExposition(const std::string& text);

// Sum of every sample of `name` whose label set contains all of `labels` ("k=\"v\"" strings).
double SumSamples(const Samples& samples, const std::string& name,
                  const std::vector<std::string>& labels = {});

// An exporter a test polls and scrapes: the real binary (ExporterProcess) or the Exporter
// object in the test's own process (InProcessExporter, support/in_process_exporter.h).
class ExporterUnderTest {
 public:
  virtual ~ExporterUnderTest() = default;
  virtual std::string Url(const std::string& path) const = 0;
  Samples Scrape() const { return ParseExposition(HttpGet(Url("/metrics")).body); }
  virtual bool Running() = 0;
  virtual std::string Log() const = 0;  // logfmt records, one per line
};

class ExporterProcess : public ExporterUnderTest {
 public:
  // Starts `binary args...` with extra environment entries, stderr to a log file in `work_dir`.
  ExporterProcess(const std::string& binary, const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env, const std::string& work_dir);
  ~ExporterProcess() override;
  ExporterProcess(const ExporterProcess&) = delete;
  ExporterProcess& operator=(const ExporterProcess&) = delete;

  // The port it listens on, read from its start-up log line (it is started with port 0).
  // Sanitized builds start several times slower (a state migration takes 14 s under TSan).
  int WaitForPort(std::chrono::milliseconds timeout = std::chrono::seconds(kSanitized ? 60 : 10));
  std::string Url(const std::string& path) const override;

  // Sends a signal and waits for the exit status; nullopt if it did not exit in time.
  std::optional<int> Stop(int signal_number, std::chrono::milliseconds timeout);
  bool Running() override;
  std::string Log() const override;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

}  // namespace bird_exporter::testing
