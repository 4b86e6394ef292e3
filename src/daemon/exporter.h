// Wires the exporter from flags: config -> client -> poller -> metrics -> server, runs until
// SIGTERM/SIGINT and returns the process exit code. The only place that sees the whole config.
#pragma once

namespace bird_exporter {

int RunExporter(int argc, char** argv);

}  // namespace bird_exporter
