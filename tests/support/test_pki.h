// Certificates for the TLS tests, made with the openssl CLI.
#pragma once

#include <string>

#include "support/process.h"

namespace bird_exporter::testing {

// Writes into `dir`: ca.crt/ca.key (a test CA), server.crt/server.key (signed by it, for
// 127.0.0.1), client.crt/client.key (signed by it) and stranger.crt/stranger.key (self-signed).
// Returns "" on success, else the failing step and its output.
std::string MakeTestPki(const std::string& dir);

// Signs a new server certificate for 127.0.0.1 with the test CA in `dir`, as `name`.crt and
// `name`.key, with `common_name` as its subject. Returns "" on success, else why not.
std::string MakeServerCertificate(const std::string& dir, const std::string& name,
                                  const std::string& common_name);

}  // namespace bird_exporter::testing
