// The web configuration file (--web.config.file) in the format of the Prometheus
// exporter-toolkit: TLS for the listen address (optionally with client certificates) and HTTP
// basic authentication with bcrypt-hashed passwords.
//
//   tls_server_config:
//     cert_file: /etc/bird_call_exporter/tls.crt
//     key_file: /etc/bird_call_exporter/tls.key
//     client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
//     client_ca_file: /etc/bird_call_exporter/clients-ca.crt
//     min_version: TLS13                             # default TLS12
//   basic_auth_users:
//     prometheus: $2b$10$...                         # bcrypt, e.g. htpasswd -nBC 10
//
//     max_version: TLS13                             # default TLS13
//     cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]  # TLS 1.2; default: ECDHE + AEAD
//     curve_preferences: [X25519, CurveP256]
//     prefer_server_cipher_suites: true              # default true
//
// The toolkit's http_server_config and rate_limit sections, and its inline cert/key/client_ca
// and client_allowed_sans, are rejected with a "not supported" message rather than silently
// ignored. Relative file paths are relative to the web configuration file, as with the
// toolkit. Checking a request's credentials is server/basic_auth.h's.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bird_exporter {

enum class ClientAuthType {
  kNoClientCert,
  kRequestClientCert,     // asks for a certificate; does not check it
  kRequireAnyClientCert,  // wants a certificate; does not check it
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

enum class TlsVersion { kTls12, kTls13 };

struct TlsServerConfig {
  std::string cert_file;  // PEM certificate (chain), leaf first
  std::string key_file;   // PEM private key
  ClientAuthType client_auth_type = ClientAuthType::kNoClientCert;
  std::string client_ca_file;  // PEM CA certificates that client certificates must chain to
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // OpenSSL names of the TLS 1.2 suites allowed, in order (cipher_suites, given with Go's names
  // as in the toolkit); empty: the forward-secret AEAD suites. TLS 1.3 suites are not
  // configurable, as in Go.
  std::vector<std::string> cipher_suites;
  std::vector<std::string> curve_preferences;  // OpenSSL group names; empty: OpenSSL's
  bool prefer_server_cipher_suites = true;
};

// The TLS 1.2 suites used when cipher_suites is not set (OpenSSL syntax): ECDHE key exchange
// with AES-GCM or ChaCha20-Poly1305 only.
inline constexpr const char* kDefaultTls12CipherSuites =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct WebConfig {
  bool tls_enabled = false;  // tls_server_config present
  TlsServerConfig tls;
  std::map<std::string, std::string, std::less<>> basic_auth_users;  // user -> bcrypt hash

  bool BasicAuthEnabled() const { return !basic_auth_users.empty(); }
};

// Error naming the key and its line, e.g.
// "web config: tls_server_config.min_version (line 4): expected TLS12 or TLS13".
// Never contains a password hash.
class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Says why `path` cannot be used ("" when it can); `kind` is "certificate" (cert_file,
// client_ca_file) or "private key" (key_file). Used to check the referenced files.
using WebConfigFileCheck =
    std::function<std::string(const std::string& path, std::string_view kind)>;

// Parses and validates YAML text. Relative file paths are resolved against `base_dir` (when not
// empty); every referenced file is passed to `check_file` (when set). Throws WebConfigError.
WebConfig ParseWebConfig(std::string_view yaml);
WebConfig ParseWebConfig(std::string_view yaml, const std::string& base_dir,
                         const WebConfigFileCheck& check_file);

// Reads `path`, parses it, resolves relative paths against the file's directory (as the
// exporter-toolkit does) and checks that the certificate, key and CA files exist, are readable
// and hold PEM data of the right kind. Throws WebConfigError.
WebConfig LoadWebConfigFile(const std::string& path);

// What deserves a warning in a valid web config: a bcrypt cost above 12 (each check that the
// cache does not answer then costs hundreds of milliseconds of a worker thread). No secrets.
std::vector<std::string> WebConfigWarnings(const WebConfig& config);

// "tls=true client_auth_type=... min_version=TLS12 basic_auth_users=2" (no secrets).
std::string SummarizeWebConfig(const WebConfig& config);

std::string_view ClientAuthTypeName(ClientAuthType type);

}  // namespace bird_exporter
