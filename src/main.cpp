// bird_call_exporter: Prometheus exporter of Bird voice-call insights.
#include <curl/curl.h>

#include "daemon/exporter.h"

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int code = bird_exporter::RunExporter(argc, argv);
  curl_global_cleanup();
  return code;
}
