// What a scrape is served: the text exposition rendered once (after each poll, and every few
// seconds for the process metrics), kept with its gzip form, and the choice between the two
// from the scraper's Accept-Encoding. Pure, apart from zlib.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bird_exporter {

struct Snapshot {
  std::string text;  // Prometheus text format 0.0.4
  std::string gzip;  // the same bytes, gzip-compressed
  // OpenMetrics 1.0 with exemplars, rendered once a scraper has asked for it.
  bool has_openmetrics = false;
  std::string openmetrics;
  std::string openmetrics_gzip;
  std::string channel_table;  // the landing page's HTML table of the channels
  std::chrono::steady_clock::time_point rendered{};
  // How many renderings had been asked for (a committed poll, a first OpenMetrics scrape) when
  // this one began to collect.
  std::uint64_t requests_seen = 0;
};

// The landing page's view of each polled channel, from the collected metrics (as
// blackbox_exporter shows its recent probes): up or down, the last successful poll, calls
// counted and followed, whether it is behind, and the insights pending per workspace. HTML.
std::string ChannelTable(const std::vector<prometheus::MetricFamily>& families, double now_seconds);

std::string HtmlEscape(std::string_view text);

// gzip (RFC 1952) of `data` with zlib at `level` (1 fastest .. 9 smallest).
std::string Gzip(std::string_view data, int level = 6);

enum class ContentCoding { kIdentity, kGzip };

// The coding to answer with for an Accept-Encoding header (RFC 9110 §12.5.3): gzip when the
// scraper accepts it (by name or by "*", with q > 0) at least as much as identity, which is
// acceptable unless excluded but, when not named, preferred least; identity otherwise, also when
// the header excludes both (the header is then disregarded, which the RFC allows). `present` is
// false when the request has no Accept-Encoding at all.
ContentCoding ChooseContentCoding(bool present, std::string_view accept_encoding);

}  // namespace bird_exporter
