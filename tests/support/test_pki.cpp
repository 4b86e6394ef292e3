#include "support/test_pki.h"

#include <vector>

namespace bird_exporter::testing {

namespace {

std::string RunSteps(const std::vector<std::string>& steps) {
  for (const auto& step : steps) {
    const CommandResult result = RunCommand(step);
    if (result.exit_code != 0) return step + "\n" + result.output;
  }
  return "";
}

}  // namespace

std::string MakeServerCertificate(const std::string& dir, const std::string& name,
                                  const std::string& common_name) {
  const std::string openssl = "cd " + ShellQuote(dir) + " && openssl ";
  return RunSteps({
      openssl + "req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
          ".csr -subj " + ShellQuote("/CN=" + common_name),
      "printf 'subjectAltName=IP:127.0.0.1\\n' > " + ShellQuote(dir + "/server.ext"),
      openssl + "x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -out " +
          name + ".crt -days 2 -extfile server.ext",
  });
}

std::string MakeTestPki(const std::string& dir) {
  const std::string openssl = "cd " + ShellQuote(dir) + " && openssl ";
  std::string error = RunSteps({
      // The CA that signs the server and the client certificate.
      openssl + "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
                "-subj '/CN=bird_call_exporter test CA'",
  });
  if (error.empty()) error = MakeServerCertificate(dir, "server", "127.0.0.1");
  if (!error.empty()) return error;
  return RunSteps({
      openssl + "req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
                "-subj '/CN=prometheus'",
      openssl + "x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                "-out client.crt -days 2",
      // A client certificate nobody in ca.crt vouches for.
      openssl + "req -x509 -newkey rsa:2048 -nodes -keyout stranger.key -out stranger.crt "
                "-days 2 -subj '/CN=stranger'",
  });
}

}  // namespace bird_exporter::testing
