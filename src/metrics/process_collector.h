// The standard process_* metrics (prometheus-cpp does not provide them), read from /proc/self
// at scrape time.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string_view>
#include <vector>

namespace bird_exporter {

struct ProcessStats {
  double cpu_seconds = 0;
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double start_time_seconds = 0;
};

// Pure: parses /proc/self/stat given the clock ticks per second, the page size and the boot
// time (btime from /proc/stat). Throws std::runtime_error on malformed text.
ProcessStats ParseProcSelfStat(std::string_view stat_text, long ticks_per_second, long page_size,
                               double boot_time_seconds);

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace bird_exporter
