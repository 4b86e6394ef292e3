// Scripted calls and configurations for the tests that poll the simulator's scripted calls.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sim/simulator.h"

namespace bird_exporter::testing {

// `count` busy calls of `channel` in workspace ws-a, ids "<channel>-call-<i>", ended about two
// minutes ago with their insights ready.
void AddEndedCalls(sim::Simulator& bird, const std::string& channel, int count);

// Writes a configuration that polls `base_url` every 200 ms: workspace ws-a ("production") with
// `channels` (id, name). `key_line` sets the key ("access_key: ..." or "access_key_file: ...");
// `extra` goes at the end of the poll section (it may open further top-level sections).
void WriteChannelsConfig(const std::string& path, const std::string& base_url,
                         const std::string& key_line,
                         const std::vector<std::pair<std::string, std::string>>& channels,
                         const std::string& extra = "");

}  // namespace bird_exporter::testing
