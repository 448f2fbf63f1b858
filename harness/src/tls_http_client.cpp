// HttpClient over TLS (https:// URLs: real AWS endpoints, Daytona's cloud),
// on Boost.Beast with OpenSSL. Asio, Beast and OpenSSL stay in this file.
// Every request gets its own io_context, TLS context and connection, so one
// client is safe to use from several threads at once.
//
// Timeouts: resolving, connecting and the TLS handshake each get `timeout`;
// sending the request gets `timeout`; the answer gets `timeout` between
// bytes. A certificate that does not verify (unknown CA, wrong name,
// expired) is a Permanent error naming the host and SSL_CERT_FILE; every
// other failure is Retryable.
#include "tls_http_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include "beast_exchange.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

using namespace beast_exchange;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr int kHttpsPort = 443;

Error connectError(const std::string& request, const std::string& phase, beast::error_code ec, milliseconds timeout) {
  const std::string why = ec == beast::error::timeout || ec == net::error::operation_aborted
                              ? "timed out after " + milliText(timeout)
                              : ec.message();
  return Error::retryable(request + " failed while " + phase + ": " + why);
}

// A handshake that failed because the certificate did not verify is a
// configuration problem: retrying cannot help.
Error handshakeError(const std::string& request, const std::string& host, TlsStream& stream, beast::error_code ec,
                     milliseconds timeout) {
  const long verify = SSL_get_verify_result(stream.native_handle());
  const bool verifyFailed = ec.category() == net::error::get_ssl_category() &&
                            (verify != X509_V_OK || ERR_GET_REASON(ec.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED);
  if (verifyFailed) {
    const std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : ec.message();
    return Error::permanent(request + " failed: the TLS certificate of " + host + " did not verify: " + why +
                            " (trust its CA with SSL_CERT_FILE=/path/to/ca.pem, or fix the host name)");
  }
  return connectError(request, "the TLS handshake", ec, timeout);
}

// Makes the handshake check that the certificate names `host` (a DNS name or
// an IP address) and, for a name, sends it as SNI. Returns false when
// OpenSSL refuses the name.
bool expectHost(TlsStream& stream, const std::string& host) {
  SSL* ssl = stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  beast::error_code notAnAddress;
  (void)net::ip::make_address(host, notAnAddress);
  if (!notAnAddress) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1 &&
         SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

class TlsHttpClient : public HttpClient {
 public:
  TlsHttpClient(std::string baseUrl, std::string host, int port, std::string prefix)
      : baseUrl_(std::move(baseUrl)), host_(std::move(host)), port_(port), prefix_(std::move(prefix)) {}

  Result<HttpResponse> send(const HttpRequest& request, milliseconds timeout) override {
    const std::string target = prefix_ + request.target;
    auto started = std::chrono::steady_clock::now();
    Result<HttpResponse> result = exchange(request, target, timeout);
    auto ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (result) {
      logger().debug("step=http method={} target={} tls=yes status={} ms={}", request.method, target, result->status,
                     ms);
    } else {
      logger().debug("step=http method={} target={} tls=yes result=error error=\"{}\" ms={}", request.method, target,
                     result.error().message, ms);
    }
    return result;
  }

  std::string baseUrl() const override { return baseUrl_; }

 private:
  Result<HttpResponse> exchange(const HttpRequest& request, const std::string& target, milliseconds timeout) const {
    const std::string what = request.method + " " + origin() + target;
    net::io_context io;
    ssl::context tls(ssl::context::tls_client);
    beast::error_code ec;
    tls.set_default_verify_paths(ec);  // the system's CAs; SSL_CERT_FILE / SSL_CERT_DIR
    if (ec) return Error::permanent(what + " failed: cannot load the trusted CAs: " + ec.message());
    tls.set_verify_mode(ssl::verify_peer);
    TlsStream stream(io, tls);
    if (!expectHost(stream, host_)) return Error::permanent(what + " failed: OpenSSL refused the host name " + host_);

    Result<tcp::resolver::results_type> endpoints = resolve(io, what, timeout);
    if (!endpoints) return endpoints.error();
    beast::get_lowest_layer(stream).expires_after(timeout);
    ec = runOne(io, [&](auto done) {
      beast::get_lowest_layer(stream).async_connect(*endpoints, [done](beast::error_code e, auto) { done(e); });
    });
    if (ec) return connectError(what, "connecting", ec, timeout);
    beast::get_lowest_layer(stream).expires_after(timeout);
    ec = runOne(io, [&](auto done) { stream.async_handshake(ssl::stream_base::client, done); });
    if (ec) return handshakeError(what, host_, stream, ec, timeout);

    http::request<http::string_body> message = toBeast(request, target, hostHeader());
    ec = writeRequest(io, stream, message, timeout);
    if (ec) return exchangeError(what, "sending the request", ec, timeout);
    Result<HttpResponse> response = readResponse(io, stream, request.method == "HEAD", timeout, what);
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    return response;
  }

  // Resolves the host, at most `timeout` (a timer cancels a slow lookup).
  Result<tcp::resolver::results_type> resolve(net::io_context& io, const std::string& what, milliseconds timeout) const {
    tcp::resolver resolver(io);
    net::steady_timer deadline(io);
    tcp::resolver::results_type endpoints;
    beast::error_code ec = runOne(io, [&](auto done) {
      deadline.expires_after(timeout);
      deadline.async_wait([&resolver](beast::error_code e) {
        if (!e) resolver.cancel();
      });
      resolver.async_resolve(host_, std::to_string(port_),
                             [&deadline, &endpoints, done](beast::error_code e, tcp::resolver::results_type found) {
                               deadline.cancel();
                               endpoints = std::move(found);
                               done(e);
                             });
    });
    if (ec) return connectError(what, "resolving " + host_, ec, timeout);
    return endpoints;
  }

  std::string hostHeader() const { return port_ == kHttpsPort ? host_ : host_ + ":" + std::to_string(port_); }
  std::string origin() const { return baseUrl_.substr(0, baseUrl_.size() - prefix_.size()); }

  std::string baseUrl_;
  std::string host_;
  int port_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<HttpClient> makeTlsHttpClient(std::string baseUrl, std::string host, int port, std::string prefix) {
  return std::make_unique<TlsHttpClient>(std::move(baseUrl), std::move(host), port, std::move(prefix));
}

}  // namespace cleanroom
