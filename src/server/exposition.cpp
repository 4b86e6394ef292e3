#include "server/exposition.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

namespace bird_exporter {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "q=0.5" -> 0.5; a malformed weight makes the element count as not given (nullopt).
std::optional<double> ParseWeight(std::string_view params) {
  double q = 1.0;
  while (!params.empty()) {
    const auto semi = params.find(';');
    const std::string_view param = Trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (param.size() < 2 || std::tolower(static_cast<unsigned char>(param[0])) != 'q' ||
        param[1] != '=') {
      continue;
    }
    const std::string_view value = Trim(param.substr(2));
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (value.empty() || value.size() > 5 || (value[0] != '0' && value[0] != '1')) return {};
    double parsed = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (ec != std::errc() || ptr != value.data() + value.size() || parsed < 0 || parsed > 1) {
      return {};
    }
    q = parsed;
  }
  return q;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string ChannelTable(const std::vector<prometheus::MetricFamily>& families, double now) {
  struct Row {
    std::optional<double> up, last_success, followed, behind;
    double calls = 0;
  };
  std::map<std::pair<std::string, std::string>, Row> rows;
  std::map<std::string, double> pending;
  const auto label = [](const prometheus::ClientMetric& m, std::string_view name) {
    for (const auto& l : m.label) {
      if (l.name == name) return l.value;
    }
    return std::string();
  };
  for (const auto& family : families) {
    for (const auto& m : family.metric) {
      const std::pair key{label(m, "workspace"), label(m, "channel")};
      if (family.name == "bird_exporter_channel_up") {
        rows[key].up = m.gauge.value;
      } else if (family.name == "bird_exporter_last_poll_success_timestamp_seconds") {
        rows[key].last_success = m.gauge.value;
      } else if (family.name == "bird_exporter_calls_followed") {
        rows[key].followed = m.gauge.value;
      } else if (family.name == "bird_exporter_channel_behind") {
        rows[key].behind = m.gauge.value;
      } else if (family.name == "bird_calls_total") {
        rows[key].calls += m.counter.value;
      } else if (family.name == "bird_exporter_insights_pending") {
        pending[key.first] = m.gauge.value;
      }
    }
  }
  std::string html =
      "<h2>Channels</h2>\n<table border=\"1\" cellpadding=\"4\">\n<tr><th>workspace</th>"
      "<th>channel</th><th>up</th><th>last successful poll</th><th>calls counted</th>"
      "<th>calls followed</th><th>behind</th><th>insights pending (workspace)</th></tr>\n";
  char buffer[96];
  for (const auto& [key, row] : rows) {
    if (key.second.empty() || !row.up) continue;  // not a channel series
    std::string last = "never";
    if (row.last_success && *row.last_success > 0) {
      const std::time_t t = static_cast<std::time_t>(*row.last_success);
      std::tm tm{};
      gmtime_r(&t, &tm);
      std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
      last = buffer;
      std::snprintf(buffer, sizeof buffer, " (%.0f s ago)", std::max(0.0, now - *row.last_success));
      last += buffer;
    }
    const auto number = [&buffer](double v) {
      std::snprintf(buffer, sizeof buffer, "%.0f", v);
      return std::string(buffer);
    };
    const auto found = pending.find(key.first);
    html += "<tr><td>" + HtmlEscape(key.first) + "</td><td>" + HtmlEscape(key.second) +
            "</td><td>" + (*row.up > 0 ? "up" : "<strong>down</strong>") + "</td><td>" + last +
            "</td><td>" + number(row.calls) + "</td><td>" +
            (row.followed ? number(*row.followed) : "") + "</td><td>" +
            (row.behind && *row.behind > 0 ? "<strong>behind</strong>" : "no") + "</td><td>" +
            (found != pending.end() ? number(found->second) : "") + "</td></tr>\n";
  }
  return html + "</table>\n";
}

std::string Gzip(std::string_view data, int level) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const auto written = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
  out.resize(written);
  return out;
}

ContentCoding ChooseContentCoding(bool present, std::string_view header) {
  if (!present) return ContentCoding::kIdentity;
  std::optional<double> gzip, identity, any;
  while (!header.empty()) {
    const auto comma = header.find(',');
    const std::string_view element = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (element.empty()) continue;
    const auto semi = element.find(';');
    const std::string_view coding = Trim(element.substr(0, semi));
    const auto weight =
        ParseWeight(semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1));
    if (!weight) continue;
    auto keep = [&](std::optional<double>& slot) { slot = std::max(slot.value_or(0), *weight); };
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      keep(gzip);
    } else if (EqualsIgnoreCase(coding, "identity")) {
      keep(identity);
    } else if (coding == "*") {
      keep(any);
    }
  }
  const double gzip_q = gzip.value_or(any.value_or(0));
  // Unnamed, identity is acceptable (unless "*;q=0" excludes it) but preferred least.
  const double identity_q = identity.value_or(any.has_value() && *any == 0 ? 0 : 0.0001);
  if (gzip_q > 0 && gzip_q >= identity_q) return ContentCoding::kGzip;
  return ContentCoding::kIdentity;
}

}  // namespace bird_exporter
