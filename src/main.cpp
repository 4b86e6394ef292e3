// bird_call_exporter: Prometheus exporter of Bird voice-call insights.
#include <curl/curl.h>

#include <memory>

#include "daemon/run.h"
#include "sim/demo.h"

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // --demo polls the built-in Bird API simulator; only the executable links it.
  const auto demo = [](const std::string& scenario) {
    auto running = std::make_shared<bird_exporter::sim::Demo>(scenario);
    return bird_exporter::DemoSource{running->config(), running->LandingNote(), running};
  };
  const int code = bird_exporter::RunExporter(argc, argv, demo);
  curl_global_cleanup();
  return code;
}
