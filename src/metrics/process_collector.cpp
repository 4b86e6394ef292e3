#include "metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace bird_exporter {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

double BootTimeSeconds() {
  std::istringstream in(ReadFile("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

double OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

}  // namespace

ProcessStats ParseProcSelfStat(std::string_view stat_text, long ticks_per_second, long page_size,
                               double boot_time_seconds) {
  // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
  const auto close = stat_text.rfind(')');
  if (close == std::string_view::npos) throw std::runtime_error("malformed /proc/self/stat");
  std::istringstream in(std::string(stat_text.substr(close + 1)));
  std::vector<std::string> fields;  // fields[0] is field 3 (state)
  for (std::string field; in >> field;) fields.push_back(field);
  if (fields.size() < 22) throw std::runtime_error("short /proc/self/stat");
  // from_chars rejects a non-numeric or partly numeric field with the documented runtime_error
  // (std::stod would throw invalid_argument, or silently read a prefix such as "2048kB").
  auto number = [&fields](int field_number) {
    const std::string& text = fields[field_number - 3];
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      throw std::runtime_error("malformed /proc/self/stat field " + std::to_string(field_number));
    }
    return value;
  };
  ProcessStats stats;
  stats.cpu_seconds = (number(14) + number(15)) / static_cast<double>(ticks_per_second);
  stats.start_time_seconds = boot_time_seconds + number(22) / static_cast<double>(ticks_per_second);
  stats.virtual_memory_bytes = number(23);
  stats.resident_memory_bytes = number(24) * static_cast<double>(page_size);
  return stats;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  try {
    const ProcessStats stats = ParseProcSelfStat(ReadFile("/proc/self/stat"), sysconf(_SC_CLK_TCK),
                                                 sysconf(_SC_PAGESIZE), BootTimeSeconds());
    families.push_back(Family("process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.",
                              MetricType::Counter, stats.cpu_seconds));
    families.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                              MetricType::Gauge, stats.resident_memory_bytes));
    families.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                              MetricType::Gauge, stats.virtual_memory_bytes));
    families.push_back(Family("process_start_time_seconds",
                              "Start time of the process since unix epoch in seconds.",
                              MetricType::Gauge, stats.start_time_seconds));
  } catch (const std::exception&) {
    // Without /proc (not Linux, or hidepid) the process metrics are simply absent.
  }
  families.push_back(
      Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, OpenFds()));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    families.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                              MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  return families;
}

}  // namespace bird_exporter
