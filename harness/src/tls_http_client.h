// The HttpClient behind makeHttpClient() for https:// URLs (internal to the
// harness): HTTP/1.1 over TLS on Boost.Beast and OpenSSL.
#pragma once

#include <memory>
#include <string>

#include "cleanroom/http_client.h"

namespace cleanroom {

// Returns a client for `baseUrl` ("https://host[:port][/prefix]", checked),
// which connects to host:port and puts `prefix` before every target.
// The server's certificate must chain to a trusted CA — the system's
// (OpenSSL's default paths; SSL_CERT_FILE / SSL_CERT_DIR name others) — and
// name `host` (SNI is sent). Each request gets its own connection.
std::unique_ptr<HttpClient> makeTlsHttpClient(std::string baseUrl, std::string host, int port, std::string prefix);

}  // namespace cleanroom
