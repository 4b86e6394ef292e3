#include "support/scripted_bird.h"

#include <chrono>
#include <fstream>

namespace bird_exporter::testing {

void AddEndedCalls(sim::Simulator& bird, const std::string& channel, int count) {
  using std::chrono::minutes;
  using std::chrono::seconds;
  for (int i = 0; i < count; ++i) {
    sim::ScriptedCall call;
    call.workspace_id = "ws-a";
    call.channel_id = channel;
    call.id = channel + "-call-" + std::to_string(i);
    call.status = "busy";
    call.created_at = std::chrono::system_clock::now() - minutes(2) + seconds(i);
    call.ended_at = call.created_at + seconds(5);
    call.hangup_cause_code = 17;
    call.hangup_sip_code = "486";
    call.insights_ready = true;
    bird.UpsertCall(call);
  }
}

void WriteChannelsConfig(const std::string& path, const std::string& base_url,
                         const std::string& key_line,
                         const std::vector<std::pair<std::string, std::string>>& channels,
                         const std::string& extra) {
  std::ofstream out(path);
  out << "bird:\n  base_url: " << base_url << "\n  " << key_line
      << "\n  request_timeout: 1s\npoll:\n  interval: 200ms\n"
      << extra << "workspaces:\n  - id: ws-a\n    name: production\n    channels:\n";
  for (const auto& [id, name] : channels) {
    out << "      - id: " << id << "\n        name: " << name << "\n";
  }
}

}  // namespace bird_exporter::testing
