// HTTP basic authentication against the web configuration's users: the Authorization header
// checked with bcrypt (crypt_r), and a small cache of headers that passed.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/web_config.h"

namespace bird_exporter {

// Remembers up to kCapacity Authorization headers that passed the bcrypt check, as SHA-256
// digests, so a scraper does not pay for bcrypt on every request. Lookups compare against every
// entry in constant time. Thread-safe. Only use one cache with one WebConfig.
class BasicAuthCache {
 public:
  static constexpr std::size_t kCapacity = 16;
  bool Contains(std::string_view authorization_header) const;
  void Add(std::string_view authorization_header);
  std::size_t Size() const;

 private:
  static std::string Digest(std::string_view authorization_header);
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;  // digests, oldest first
};

// True when basic auth is disabled, or when the header is "Basic base64(user:password)" for a
// configured user whose bcrypt hash matches the password (checked with crypt_r). Unknown users
// cost a bcrypt run too, so timing does not reveal which users exist.
bool CheckBasicAuth(const WebConfig& config, std::string_view authorization_header,
                    BasicAuthCache* cache = nullptr);

// Strict RFC 4648 base64 (standard alphabet, padding required). False on malformed input.
bool DecodeBase64(std::string_view text, std::string& out);

}  // namespace bird_exporter
