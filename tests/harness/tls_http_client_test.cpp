// The https:// HttpClient (harness/src/tls_http_client.cpp) against a TLS
// server in this process on 127.0.0.1:0, with a certificate made for the
// test (OpenSSL) and trusted through SSL_CERT_FILE: requests and answers get
// through with SNI and the Host header; an untrusted certificate or a wrong
// host name is a Permanent error naming the host; a server that never
// answers and a port nobody listens on are Retryable.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/http_client.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace cleanroom {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;

constexpr milliseconds kTimeout{5000};

// A self-signed certificate (its own CA) for one DNS name, and its key.
struct TestCertificate {
  std::string certificatePem;
  std::string keyPem;
};

std::string pemOf(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (write(bio.get()) != 1) throw std::runtime_error("PEM_write failed");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

TestCertificate makeCertificate(const std::string& dnsName) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) throw std::runtime_error("cannot make a key or certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("cleanroom test"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string altName = "DNS:" + dnsName;
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,digitalSignature,keyCertSign"},
           {NID_subject_alt_name, altName}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    if (extension == nullptr) throw std::runtime_error("cannot make extension " + value);
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error("cannot sign");
  TestCertificate out;
  out.certificatePem = pemOf([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
  out.keyPem = pemOf([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return out;
}

// What the server saw of one request.
struct SeenRequest {
  std::string method;
  std::string target;
  std::string host;
  std::string serverName;  // SNI
  std::string body;
};

// A TLS server on 127.0.0.1:0 that serves one connection at a time: it
// answers "<method> <target>" (silent: accepts and never says a word).
class TlsTestServer {
 public:
  TlsTestServer(const TestCertificate& certificate, bool silent = false)
      : tls_(ssl::context::tls_server), acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        silent_(silent) {
    tls_.use_certificate_chain(net::buffer(certificate.certificatePem));
    tls_.use_private_key(net::buffer(certificate.keyPem), ssl::context::pem);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsTestServer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    released_.notify_all();
    // Wake a blocking accept with a connection of our own.
    boost::system::error_code ignored;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }

  int port() const { return acceptor_.local_endpoint().port(); }
  std::vector<SeenRequest> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  int handshakeFailures() const { return handshakeFailures_; }

 private:
  void serve() {
    for (;;) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      {
        std::unique_lock lock(mutex_);
        if (stopping_) return;
        if (silent_) {
          released_.wait(lock, [this] { return stopping_; });
          return;
        }
      }
      if (!ec) answer(std::move(socket));
    }
  }

  void answer(tcp::socket socket) {
    ssl::stream<tcp::socket> stream(std::move(socket), tls_);
    boost::system::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) {
      ++handshakeFailures_;
      return;
    }
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(stream, buffer, request, ec);
    if (ec) return;
    SeenRequest seen{std::string(request.method_string()), std::string(request.target()),
                     std::string(request[http::field::host]), "", request.body()};
    if (const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) seen.serverName = name;
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(seen);
    }
    http::response<http::string_body> response{http::status::ok, 11};
    response.set(http::field::content_type, "text/plain");
    response.set("X-Body-Bytes", std::to_string(request.body().size()));
    response.body() = seen.method + " " + seen.target;
    response.prepare_payload();
    if (request.method() == http::verb::head) response.body().clear();
    http::write(stream, response, ec);
    stream.lowest_layer().close(ec);
  }

  net::io_context io_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  bool silent_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable released_;
  bool stopping_ = false;
  std::vector<SeenRequest> seen_;
  std::atomic<int> handshakeFailures_{0};
};

class TlsHttpClientTest : public ::testing::Test {
 protected:
  // Trusts `certificate` (only it) for this test.
  void trust(const TestCertificate& certificate) {
    trusted_ = certs_.write("ca.pem", certificate.certificatePem).string();
    caFile_ = std::make_unique<tests::ScopedEnv>("SSL_CERT_FILE", trusted_);
  }

  std::unique_ptr<HttpClient> client(const std::string& url) {
    auto made = makeHttpClient(url, "the test URL");
    if (!made.ok()) throw std::runtime_error(made.error().describe());
    return std::move(made).value();
  }

  tests::TempDir certs_{"cr-tls-test"};
  std::string trusted_;
  std::unique_ptr<tests::ScopedEnv> caFile_;
  tests::ScopedEnv noCaDir_{"SSL_CERT_DIR", std::nullopt};
  TestCertificate localhost_ = makeCertificate("localhost");
};

TEST_F(TlsHttpClientTest, SpeaksHttpsWithSniAndTheHostHeaderToAServerItTrusts) {
  trust(localhost_);
  TlsTestServer server(localhost_);
  auto https = client("https://localhost:" + std::to_string(server.port()) + "/api");

  HttpRequest request;
  request.target = "/hello?x=1";
  auto answer = https->send(request, kTimeout);

  ASSERT_TRUE(answer.ok()) << answer.error().describe();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "GET /api/hello?x=1");
  EXPECT_EQ(answer->header("content-type"), "text/plain");
  ASSERT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(server.seen()[0].host, "localhost:" + std::to_string(server.port()));
  EXPECT_EQ(server.seen()[0].serverName, "localhost");
}

TEST_F(TlsHttpClientTest, SendsABodyAndReadsAHeadAnswerWithoutOne) {
  trust(localhost_);
  TlsTestServer server(localhost_);
  auto https = client("https://localhost:" + std::to_string(server.port()));

  HttpRequest put;
  put.method = "PUT";
  put.target = "/bucket/key";
  put.body = std::string(100000, 'x');
  put.contentType = "application/octet-stream";
  put.headers = {{"Host", "bucket.example"}};  // a signed Host header wins
  auto stored = https->send(put, kTimeout);
  HttpRequest head;
  head.method = "HEAD";
  head.target = "/bucket/key";
  auto headed = https->send(head, kTimeout);

  ASSERT_TRUE(stored.ok()) << stored.error().describe();
  EXPECT_EQ(stored->header("x-body-bytes"), "100000");
  ASSERT_TRUE(headed.ok()) << headed.error().describe();
  EXPECT_EQ(headed->status, 200);
  EXPECT_EQ(headed->body, "");
  ASSERT_EQ(server.seen().size(), 2u);
  EXPECT_EQ(server.seen()[0].host, "bucket.example");
  EXPECT_EQ(server.seen()[0].body.size(), 100000u);
}

TEST_F(TlsHttpClientTest, AnUntrustedCertificateIsAPermanentErrorNamingTheHostAndSslCertFile) {
  trust(makeCertificate("localhost"));  // another certificate than the server's
  TlsTestServer server(localhost_);
  auto https = client("https://localhost:" + std::to_string(server.port()));

  auto answer = https->send(HttpRequest{}, kTimeout);

  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(answer.error().message, HasSubstr("certificate of localhost did not verify"));
  EXPECT_THAT(answer.error().message, HasSubstr("SSL_CERT_FILE"));
  EXPECT_TRUE(server.seen().empty());
}

TEST_F(TlsHttpClientTest, ACertificateForAnotherNameDoesNotVerify) {
  trust(localhost_);
  TlsTestServer server(localhost_);
  auto https = client("https://127.0.0.1:" + std::to_string(server.port()));

  auto answer = https->send(HttpRequest{}, kTimeout);

  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(answer.error().message, HasSubstr("certificate of 127.0.0.1 did not verify"));
  EXPECT_TRUE(server.seen().empty());
}

TEST_F(TlsHttpClientTest, AServerThatNeverAnswersTimesOutRetryably) {
  trust(localhost_);
  TlsTestServer server(localhost_, /*silent=*/true);
  auto https = client("https://localhost:" + std::to_string(server.port()));

  auto answer = https->send(HttpRequest{}, milliseconds(200));

  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(answer.error().message, HasSubstr("TLS handshake"));
  EXPECT_THAT(answer.error().message, HasSubstr("timed out after 200ms"));
}

TEST_F(TlsHttpClientTest, NothingListeningIsRetryable) {
  int port = 0;
  {
    TlsTestServer closed(localhost_);
    port = closed.port();
  }  // the port is free again
  auto https = client("https://127.0.0.1:" + std::to_string(port));

  auto answer = https->send(HttpRequest{}, kTimeout);

  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(answer.error().message, HasSubstr("connecting"));
}

}  // namespace
}  // namespace cleanroom
