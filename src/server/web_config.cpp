#include "server/web_config.h"

#include <crypt.h>
#include <openssl/sha.h>
#include <string.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <sstream>

namespace bird_exporter {
namespace {

constexpr std::string_view kClientAuthTypes =
    "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
    "RequireAndVerifyClientCert";

struct Field {
  YAML::Node node;
  std::string path;
  int line;
};

struct Mapping {
  Field self;
  std::map<std::string, Field, std::less<>> entries;

  const Field* Find(std::string_view key) const {
    const auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
  }
};

enum class FileKind { kCertificate, kPrivateKey };

bool IsBcryptChar(char c) {
  return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
         (c >= 'a' && c <= 'z');
}

// "$2a$", "$2b$" or "$2y$", a two-digit cost 04-31, "$", then 22 characters of salt and 31 of
// hash: 60 characters in all.
bool LooksLikeBcrypt(std::string_view hash) {
  if (hash.size() != 60 || !hash.starts_with("$2") || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), IsBcryptChar);
}

}  // namespace

std::vector<std::string> WebConfigWarnings(const WebConfig& config) {
  std::vector<std::string> warnings;
  for (const auto& [user, hash] : config.basic_auth_users) {
    if (!LooksLikeBcrypt(hash)) continue;
    const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost > 12) {
      warnings.push_back("basic_auth_users." + user + ": bcrypt cost " + std::to_string(cost) +
                         " is above 12; every check the cache cannot answer takes hundreds of "
                         "milliseconds (10 is usual)");
    }
  }
  return warnings;
}

namespace {

class Parser {
 public:
  Parser(const std::string& base_dir, const WebConfigFileCheck& check_file)
      : base_dir_(base_dir), check_file_(check_file) {}

  WebConfig Parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      if (e.mark.is_null()) throw WebConfigError("web config: " + e.msg);
      throw WebConfigError("web config: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    WebConfig config;
    // An empty file is valid, as with the exporter-toolkit: plain HTTP without authentication.
    if (root.IsNull()) return config;
    const Field top{root, "", root.Mark().line + 1};
    if (!root.IsMap()) {
      throw WebConfigError("web config: line " + std::to_string(top.line) +
                           ": top level must be a mapping");
    }
    const Mapping m = MappingOf(top, {"tls_server_config", "basic_auth_users"},
                                {"http_server_config", "rate_limit"});
    if (const Field* f = m.Find("tls_server_config")) {
      config.tls_enabled = true;
      ParseTls(*f, config.tls);
    }
    if (const Field* f = m.Find("basic_auth_users")) ParseUsers(*f, config.basic_auth_users);
    return config;
  }

 private:
  [[noreturn]] static void Fail(int line, const std::string& path, const std::string& reason) {
    throw WebConfigError("web config: " + path + " (line " + std::to_string(line) + "): " + reason);
  }
  [[noreturn]] static void Fail(const Field& f, const std::string& reason) {
    Fail(f.line, f.path, reason);
  }

  static std::string Join(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
  }

  // Rejects unknown and repeated keys; `unsupported` are exporter-toolkit keys this exporter
  // does not implement, named as such. A null node (a key with nothing under it) is empty.
  static Mapping MappingOf(const Field& f, std::initializer_list<std::string_view> allowed,
                           std::initializer_list<std::string_view> unsupported) {
    Mapping m{f, {}};
    if (f.node.IsNull()) return m;
    if (!f.node.IsMap()) Fail(f, "expected a mapping");
    for (const auto& kv : f.node) {
      const int line = kv.first.Mark().line + 1;
      if (!kv.first.IsScalar()) Fail(line, f.path, "keys must be strings");
      const std::string& key = kv.first.Scalar();
      Field entry{kv.second, Join(f.path, key), line};
      if (std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end()) {
        Fail(entry, "not supported by bird_call_exporter");
      }
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Fail(entry, "unknown key");
      }
      if (!m.entries.emplace(key, entry).second) Fail(entry, "duplicate key");
    }
    return m;
  }

  static const Field& Require(const Mapping& m, std::string_view key) {
    if (const Field* f = m.Find(key)) return *f;
    Fail(m.self.line, Join(m.self.path, key), "required key missing");
  }

  static std::string NonEmptyString(const Field& f) {
    if (f.node.IsNull()) Fail(f, "must not be empty");
    if (!f.node.IsScalar()) Fail(f, "expected a string");
    std::string value = f.node.Scalar();
    if (value.empty()) Fail(f, "must not be empty");
    return value;
  }

  std::string FilePath(const Field& f, FileKind kind) const {
    std::string path = NonEmptyString(f);
    if (!base_dir_.empty() && std::filesystem::path(path).is_relative()) {
      path = (std::filesystem::path(base_dir_) / path).lexically_normal().string();
    }
    if (check_file_) {
      const std::string reason =
          check_file_(path, kind == FileKind::kCertificate ? "certificate" : "private key");
      if (!reason.empty()) Fail(f, reason);
    }
    return path;
  }

  ClientAuthType ClientAuth(const Field& auth) const {
    const std::string type = NonEmptyString(auth);
    if (type == "NoClientCert") return ClientAuthType::kNoClientCert;
    if (type == "RequestClientCert") return ClientAuthType::kRequestClientCert;
    if (type == "VerifyClientCertIfGiven") return ClientAuthType::kVerifyClientCertIfGiven;
    if (type == "RequireAndVerifyClientCert") return ClientAuthType::kRequireAndVerifyClientCert;
    // RequireClientCert: the toolkit's old name, still accepted there.
    if (type == "RequireAnyClientCert" || type == "RequireClientCert") {
      return ClientAuthType::kRequireAnyClientCert;
    }
    Fail(auth, "expected " + std::string(kClientAuthTypes));
  }

  void CipherSuites(const Field& c, TlsServerConfig& tls) const {
    for (const Field& item : Items(c)) {
      const std::string name = NonEmptyString(item);
      if (name.rfind("TLS_AES_", 0) == 0 || name.rfind("TLS_CHACHA20_", 0) == 0) {
        continue;  // a TLS 1.3 suite: always on, not configurable (as in Go)
      }
      const auto known = kCipherSuites.find(name);
      if (known == kCipherSuites.end()) {
        Fail(item, "unknown cipher suite \"" + name + "\" (Go names, e.g. " +
                       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
      }
      tls.cipher_suites.push_back(known->second);
    }
    if (tls.cipher_suites.empty() && tls.min_version == TlsVersion::kTls12) {
      Fail(c, "lists no TLS 1.2 suite; TLS 1.2 clients could not connect");
    }
  }

  void ParseTls(const Field& f, TlsServerConfig& tls) const {
    const Mapping m = MappingOf(
        f,
        {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
         "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites"},
        {"cert", "key", "client_ca", "client_allowed_sans"});
    tls.cert_file = FilePath(Require(m, "cert_file"), FileKind::kCertificate);
    tls.key_file = FilePath(Require(m, "key_file"), FileKind::kPrivateKey);

    const Field* auth = m.Find("client_auth_type");
    if (auth) tls.client_auth_type = ClientAuth(*auth);
    const bool verifies = tls.client_auth_type == ClientAuthType::kVerifyClientCertIfGiven ||
                          tls.client_auth_type == ClientAuthType::kRequireAndVerifyClientCert;
    if (const Field* ca = m.Find("client_ca_file")) {
      if (!verifies) {
        Fail(*ca,
             "only used with client_auth_type VerifyClientCertIfGiven or "
             "RequireAndVerifyClientCert");
      }
      tls.client_ca_file = FilePath(*ca, FileKind::kCertificate);
    } else if (verifies) {
      Fail(auth->line, Join(f.path, "client_ca_file"),
           "required with client_auth_type " +
               std::string(ClientAuthTypeName(tls.client_auth_type)));
    }

    if (const Field* v = m.Find("min_version")) tls.min_version = Version(*v);
    if (const Field* v = m.Find("max_version")) {
      tls.max_version = Version(*v);
      if (tls.max_version < tls.min_version) Fail(*v, "must not be below min_version");
    }
    if (const Field* c = m.Find("cipher_suites")) CipherSuites(*c, tls);
    if (const Field* c = m.Find("curve_preferences")) {
      for (const Field& item : Items(*c)) {
        const std::string name = NonEmptyString(item);
        const auto known = kCurves.find(name);
        if (known == kCurves.end()) {
          Fail(item, "unknown curve \"" + name + "\" (CurveP256, CurveP384, CurveP521, X25519)");
        }
        tls.curve_preferences.push_back(known->second);
      }
    }
    if (const Field* p = m.Find("prefer_server_cipher_suites")) {
      const std::string value = p->node.IsScalar() ? p->node.Scalar() : "";
      if (value == "true") {
        tls.prefer_server_cipher_suites = true;
      } else if (value == "false") {
        tls.prefer_server_cipher_suites = false;
      } else {
        Fail(*p, "expected true or false");
      }
    }
  }

  static TlsVersion Version(const Field& v) {
    const std::string version = v.node.IsScalar() ? v.node.Scalar() : "";
    if (version == "TLS12") return TlsVersion::kTls12;
    if (version == "TLS13") return TlsVersion::kTls13;
    Fail(v, "expected TLS12 or TLS13");
  }

  // The elements of a YAML sequence, each with its own line.
  static std::vector<Field> Items(const Field& f) {
    if (!f.node.IsSequence() || f.node.size() == 0) Fail(f, "expected a non-empty list");
    std::vector<Field> items;
    for (std::size_t i = 0; i < f.node.size(); ++i) {
      items.push_back(
          Field{f.node[i], f.path + "[" + std::to_string(i) + "]", f.node[i].Mark().line + 1});
    }
    return items;
  }

  // Go's names (crypto/tls, as the toolkit takes them) -> OpenSSL's, for TLS 1.2.
  inline static const std::map<std::string, std::string, std::less<>> kCipherSuites = {
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
      {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
      {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
      {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
      {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
      {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
  };
  inline static const std::map<std::string, std::string, std::less<>> kCurves = {
      {"CurveP256", "P-256"},
      {"CurveP384", "P-384"},
      {"CurveP521", "P-521"},
      {"X25519", "X25519"},
  };

  static void ParseUsers(const Field& f, std::map<std::string, std::string, std::less<>>& users) {
    if (!f.node.IsMap()) Fail(f, "expected a mapping of user names to bcrypt hashes");
    if (f.node.size() == 0) Fail(f, "must list at least one user");
    for (const auto& kv : f.node) {
      const int line = kv.first.Mark().line + 1;
      if (!kv.first.IsScalar()) Fail(line, f.path, "keys must be strings");
      const std::string& user = kv.first.Scalar();
      const Field entry{kv.second, Join(f.path, user), line};
      if (user.empty()) Fail(line, f.path, "user names must not be empty");
      if (user.find(':') != std::string::npos) Fail(entry, "user names must not contain ':'");
      if (users.count(user) != 0) Fail(entry, "duplicate key");
      // The hash itself is never quoted back.
      if (!kv.second.IsScalar() || !LooksLikeBcrypt(kv.second.Scalar())) {
        Fail(entry,
             "expected a bcrypt hash ($2a$, $2b$ or $2y$ with 60 characters), e.g. from "
             "htpasswd -nBC 10");
      }
      users.emplace(user, kv.second.Scalar());
    }
  }

  const std::string& base_dir_;
  const WebConfigFileCheck& check_file_;
};

std::string ReadWholeFile(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) throw std::runtime_error(std::strerror(errno));
  std::string contents;
  char buffer[4096];
  while (const size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
    contents.append(buffer, n);
  }
  if (std::ferror(file.get())) throw std::runtime_error(std::strerror(errno));
  return contents;
}

// The checks done at load: the file is readable and holds PEM data of the expected kind.
// OpenSSL would fail later, when the server starts, with a much vaguer message.
std::string CheckPemFile(const std::string& path, std::string_view kind) {
  std::string contents;
  try {
    contents = ReadWholeFile(path);
  } catch (const std::runtime_error& e) {
    return "cannot read " + path + ": " + e.what();
  }
  if (kind == "certificate") {
    if (contents.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return path + " holds no PEM certificate";
    }
    return "";
  }
  const bool has_key = contents.find("-----BEGIN ") != std::string::npos &&
                       contents.find("PRIVATE KEY-----") != std::string::npos;
  const bool encrypted =
      contents.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
      contents.find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
  explicit_bzero(contents.data(), contents.size());
  if (!has_key) return path + " holds no PEM private key";
  if (encrypted) return path + " holds an encrypted private key; use an unencrypted one";
  return "";
}

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

std::string_view ClientAuthTypeName(ClientAuthType type) {
  switch (type) {
    case ClientAuthType::kNoClientCert:
      return "NoClientCert";
    case ClientAuthType::kRequestClientCert:
      return "RequestClientCert";
    case ClientAuthType::kRequireAnyClientCert:
      return "RequireAnyClientCert";
    case ClientAuthType::kVerifyClientCertIfGiven:
      return "VerifyClientCertIfGiven";
    case ClientAuthType::kRequireAndVerifyClientCert:
      return "RequireAndVerifyClientCert";
  }
  return "NoClientCert";
}

WebConfig ParseWebConfig(std::string_view yaml) { return ParseWebConfig(yaml, "", nullptr); }

WebConfig ParseWebConfig(std::string_view yaml, const std::string& base_dir,
                         const WebConfigFileCheck& check_file) {
  return Parser(base_dir, check_file).Parse(yaml);
}

WebConfig LoadWebConfigFile(const std::string& path) {
  std::string text;
  try {
    text = ReadWholeFile(path);
  } catch (const std::runtime_error& e) {
    throw WebConfigError("web config: cannot read " + path + ": " + e.what());
  }
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseWebConfig(text, base_dir, CheckPemFile);
}

std::string SummarizeWebConfig(const WebConfig& config) {
  std::ostringstream out;
  out << "tls=" << (config.tls_enabled ? "true" : "false");
  if (config.tls_enabled) {
    out << " cert_file=" << config.tls.cert_file
        << " client_auth_type=" << ClientAuthTypeName(config.tls.client_auth_type)
        << " min_version=" << (config.tls.min_version == TlsVersion::kTls13 ? "TLS13" : "TLS12")
        << " max_version=" << (config.tls.max_version == TlsVersion::kTls13 ? "TLS13" : "TLS12");
  }
  out << " basic_auth_users=" << config.basic_auth_users.size();
  return out.str();
}

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
