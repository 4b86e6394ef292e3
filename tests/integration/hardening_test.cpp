// What a misbehaving Bird API can and cannot do: an oversized answer fails the request instead
// of exhausting memory, and endless paging stops at the per-poll page cap.
#include <gtest/gtest.h>

#include "http/curl_transport.h"
#include "sim/simulator.h"
#include "support/http_client.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(HardeningTest, AnOversizedAnswerFailsTheRequestInsteadOfGrowingWithoutBound) {
  sim::Simulator bird(sim::ScriptedSettings("hardening-key"));
  for (int i = 0; i < 300; ++i) {
    sim::ScriptedCall call;
    call.workspace_id = "ws";
    call.channel_id = "ch";
    call.id = "call-" + std::to_string(i);
    call.status = "busy";
    call.created_at = std::chrono::system_clock::now() - minutes(1) + seconds(i % 50);
    call.ended_at = call.created_at + seconds(3);
    bird.UpsertCall(call);
  }
  bird_exporter::HttpRequest request;
  request.url = bird.BaseUrl() + "/workspaces/ws/channels/ch/calls?limit=1000";
  request.headers = {{"Authorization", "AccessKey hardening-key"}};

  EnsureCurlGlobal();  // main()'s job in the binary
  CurlTransport roomy;
  const bird_exporter::HttpResponse whole = roomy.Get(request);
  ASSERT_EQ(whole.status, 200);
  ASSERT_GT(whole.body.size(), 20000u);

  CurlTransport capped(16 * 1024);
  const bird_exporter::HttpResponse refused = capped.Get(request);
  EXPECT_EQ(refused.status, 0);
  EXPECT_TRUE(refused.body.empty());
  EXPECT_NE(refused.error.find("larger than 16384 bytes"), std::string::npos) << refused.error;
}

}  // namespace
}  // namespace bird_exporter::testing
