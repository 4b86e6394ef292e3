#include "metrics/label_guard.h"

namespace bird_exporter {

LabelGuard::LabelGuard(LabelLimits limits) : limits_(limits) {}

std::string LabelGuard::Admit(std::string_view label, std::string_view value, bool& dropped) {
  dropped = false;
  if (value == "unknown" || value == "other") return std::string(value);
  if (value.size() > limits_.max_value_length) {
    dropped = true;
    return "other";
  }
  auto it = seen_.find(label);
  if (it == seen_.end()) it = seen_.emplace(std::string(label), std::set<std::string>{}).first;
  auto& values = it->second;
  if (values.count(std::string(value)) > 0) return std::string(value);
  if (values.size() >= limits_.max_distinct_values) {
    dropped = true;
    return "other";
  }
  values.insert(std::string(value));
  return std::string(value);
}

}  // namespace bird_exporter
