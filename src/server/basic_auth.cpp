#include "server/basic_auth.h"

#include <crypt.h>
#include <openssl/sha.h>
#include <string.h>

#include <memory>

namespace bird_exporter {
namespace {

// Compares in a time that depends on the length of `input` only, not on where they differ.
bool ConstantTimeEquals(std::string_view expected, std::string_view input) {
  unsigned char diff = expected.size() == input.size() ? 0 : 1;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const unsigned char e = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    diff |= static_cast<unsigned char>(e ^ static_cast<unsigned char>(input[i]));
  }
  return diff == 0;
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  // crypt_data must start zeroed; it is about 32 KiB, so it lives on the heap.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  // libxcrypt signals failure with NULL or a string starting with '*'.
  const bool ok = out != nullptr && out[0] != '*' && ConstantTimeEquals(hash, out);
  explicit_bzero(data.get(), sizeof(crypt_data));
  return ok;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

// Only a SHA-256 of each header is kept: the cache never holds a password, even encoded.
std::string BasicAuthCache::Digest(std::string_view authorization_header) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(authorization_header.data()),
         authorization_header.size(), reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

bool BasicAuthCache::Contains(std::string_view authorization_header) const {
  const std::string digest = Digest(authorization_header);
  const std::lock_guard<std::mutex> lock(mutex_);
  bool found = false;
  // Every entry is compared, so the time does not tell which one matched.
  for (const std::string& entry : entries_) {
    found |= ConstantTimeEquals(entry, digest);
  }
  return found;
}

void BasicAuthCache::Add(std::string_view authorization_header) {
  std::string digest = Digest(authorization_header);
  const std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& entry : entries_) {
    if (entry == digest) return;
  }
  if (entries_.size() >= kCapacity) entries_.erase(entries_.begin());
  entries_.push_back(std::move(digest));
}

std::size_t BasicAuthCache::Size() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

bool DecodeBase64(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=')
    padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    unsigned value = 0;
    const bool last = i + 4 == text.size();
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int v = 0;
      if (c == '=' && last && j >= 4 - padding) {
        v = 0;
      } else {
        v = Base64Value(c);
        if (v < 0) return false;
      }
      value = (value << 6) | static_cast<unsigned>(v);
    }
    out += static_cast<char>((value >> 16) & 0xff);
    if (!last || padding < 2) out += static_cast<char>((value >> 8) & 0xff);
    if (!last || padding < 1) out += static_cast<char>(value & 0xff);
  }
  return true;
}

bool CheckBasicAuth(const WebConfig& config, std::string_view authorization_header,
                    BasicAuthCache* cache) {
  if (!config.BasicAuthEnabled()) return true;
  if (cache != nullptr && cache->Contains(authorization_header)) return true;

  std::string_view header = authorization_header;
  constexpr std::string_view kScheme = "basic ";
  if (header.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return false;
  }
  std::string_view encoded = header.substr(kScheme.size());
  while (!encoded.empty() && (encoded.front() == ' ' || encoded.front() == '\t')) {
    encoded.remove_prefix(1);
  }
  while (!encoded.empty() && (encoded.back() == ' ' || encoded.back() == '\t')) {
    encoded.remove_suffix(1);
  }

  std::string decoded;
  const bool decoded_ok = DecodeBase64(encoded, decoded);
  const std::size_t colon = decoded.find(':');
  bool ok = false;
  // A NUL would cut the password short for crypt_r: "secret\0anything" must not pass.
  if (decoded_ok && colon != std::string::npos && decoded.find('\0') == std::string::npos) {
    const std::string_view user = std::string_view(decoded).substr(0, colon);
    std::string password = decoded.substr(colon + 1);
    const auto it = config.basic_auth_users.find(user);
    const bool known = it != config.basic_auth_users.end();
    // An unknown user is checked against a real hash too (and fails), so that the response time
    // does not reveal which user names exist.
    const std::string& hash = known ? it->second : config.basic_auth_users.begin()->second;
    ok = BcryptMatches(password, hash) && known;
    explicit_bzero(password.data(), password.size());
  }
  explicit_bzero(decoded.data(), decoded.size());
  if (ok && cache != nullptr) cache->Add(authorization_header);
  return ok;
}

}  // namespace bird_exporter
