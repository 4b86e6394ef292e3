#include "config/web_config.h"

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

#include "config/yaml_fields.h"

namespace bird_exporter {
namespace {

constexpr std::string_view kClientAuthTypes =
    "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
    "RequireAndVerifyClientCert";

using yaml::Field;
using yaml::Mapping;

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

  // Stops at the first error, which names its key and line.
  WebConfig Parse(std::string_view text) {
    YAML::Node root;
    try {
      root = yaml::Load(text);
    } catch (const yaml::SyntaxError& e) {
      throw WebConfigError(std::string("web config: ") + e.what());
    }
    WebConfig config;
    // An empty file is valid, as with the exporter-toolkit: plain HTTP without authentication.
    if (root.IsNull()) return config;
    const Field top = yaml::Root(root);
    if (!root.IsMap()) {
      throw WebConfigError("web config: line " + std::to_string(top.line) +
                           ": top level must be a mapping");
    }
    try {
      const Mapping m = MappingOf(top, {"tls_server_config", "basic_auth_users"},
                                  {"http_server_config", "rate_limit"});
      if (const Field* f = m.Find("tls_server_config")) {
        config.tls_enabled = true;
        ParseTls(*f, config.tls);
      }
      if (const Field* f = m.Find("basic_auth_users")) ParseUsers(*f, config.basic_auth_users);
    } catch (const yaml::FieldError& e) {
      throw WebConfigError(std::string("web config: ") + e.what());
    }
    return config;
  }

 private:
  [[noreturn]] static void Fail(int line, const std::string& path, const std::string& reason) {
    yaml::Fail(line, path, reason);
  }
  [[noreturn]] static void Fail(const Field& f, const std::string& reason) {
    yaml::Fail(f, reason);
  }
  static std::string Join(const std::string& parent, std::string_view key) {
    return yaml::Join(parent, key);
  }

  // Unknown and repeated keys fail at once; `unsupported` are exporter-toolkit keys this
  // exporter does not implement, named as such. A null node (a key with nothing under it) is
  // empty.
  static Mapping MappingOf(const Field& f, const std::vector<std::string_view>& allowed,
                           const std::vector<std::string_view>& unsupported) {
    if (f.node.IsNull()) return Mapping{f, {}};
    return yaml::MappingOf(
        f, allowed, [](const yaml::FieldError& e) { throw e; }, unsupported);
  }

  static const Field& Require(const Mapping& m, std::string_view key) {
    return yaml::Require(m, key);
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
      tls.prefer_server_cipher_suites =
          yaml::Boolean(*p, p->node.IsScalar() ? p->node.Scalar() : "");
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
    return yaml::Items(f);
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

// The checks done at load: the file is readable and holds PEM data of the expected kind.
// OpenSSL would fail later, when the server starts, with a much vaguer message.
std::string CheckPemFile(const std::string& path, std::string_view kind) {
  std::string contents;
  try {
    contents = yaml::ReadWholeFile(path);
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
    text = yaml::ReadWholeFile(path);
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

}  // namespace bird_exporter
