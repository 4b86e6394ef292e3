// Encodings the tests make themselves, independently of the code under test: Base64 for
// Authorization headers and bcrypt hashes (crypt_r) for basic-auth configurations.
#pragma once

#include <string>

namespace bird_exporter::testing {

// Standard Base64 (RFC 4648, with padding).
std::string Base64(const std::string& text);

// A bcrypt hash of `password` with a fresh salt, `prefix` ("$2b$", "$2y$", ...) and `cost`;
// "" when crypt cannot make one.
std::string Bcrypt(const std::string& password, const char* prefix = "$2b$",
                   unsigned long cost = 10);

}  // namespace bird_exporter::testing
