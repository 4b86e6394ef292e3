// Bounds the label values that come from Bird's free-form fields (codec names, cause codes, SIP
// codes), so a misbehaving API cannot explode the number of series. Pure; not thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace bird_exporter {

struct LabelLimits {
  std::size_t max_value_length = 64;
  std::size_t max_distinct_values = 100;  // per label name
};

class LabelGuard {
 public:
  explicit LabelGuard(LabelLimits limits = {});

  // The value itself, or "other" when it is too long or would be one distinct value too many
  // for `label`. Values already admitted stay admitted; "unknown" and "other" always pass.
  // Sets `dropped` when the value was replaced.
  std::string Admit(std::string_view label, std::string_view value, bool& dropped);

 private:
  LabelLimits limits_;
  std::map<std::string, std::set<std::string>, std::less<>> seen_;
};

}  // namespace bird_exporter
