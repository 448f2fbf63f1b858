// One HTTP/1.1 exchange on Boost.Beast, shared by the HttpClients that do
// not use cpp-httplib (internal to the harness: the Unix-socket client and
// the TLS client). Every function runs the given io_context until its one
// operation completed; the stream's timer (expires_after on its lowest
// layer) bounds how long that blocks.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>

#include "cleanroom/http_client.h"

namespace cleanroom::beast_exchange {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

inline constexpr uint64_t kBodyLimit = 256u * 1024u * 1024u;
inline constexpr const char* kUserAgent = "cleanroom";

inline std::string lowerCase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

inline std::string milliText(milliseconds timeout) { return std::to_string(timeout.count()) + "ms"; }

// Starts one asynchronous operation (its handler takes an error code first),
// runs the io_context until it completes and returns its error code.
inline beast::error_code runOne(net::io_context& io,
                                const std::function<void(std::function<void(beast::error_code)>)>& start) {
  beast::error_code result = net::error::would_block;
  start([&result](beast::error_code ec) { result = ec; });
  io.restart();
  io.run();
  return result;
}

// Failure after connecting: the request or the answer did not get through.
inline Error exchangeError(const std::string& request, const std::string& phase, beast::error_code ec,
                           milliseconds timeout) {
  std::string why;
  if (ec == beast::error::timeout) {
    why = "timed out after " + milliText(timeout) + " without a byte";
  } else if (ec == http::error::end_of_stream || ec == net::error::eof || ec == http::error::partial_message) {
    why = "connection closed before the answer was complete";
  } else if (ec == net::error::connection_reset || ec == net::error::broken_pipe) {
    why = "connection reset by the server";
  } else {
    why = ec.message();
  }
  return Error::retryable(request + " failed while " + phase + ": " + why);
}

// Returns `request` as a Beast message with Host `host` (a Host header of
// the request wins), our User-Agent and Connection: close.
inline http::request<http::string_body> toBeast(const HttpRequest& request, const std::string& target,
                                                const std::string& host) {
  http::request<http::string_body> message;
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    message.method_string(request.method);
  } else {
    message.method(verb);
  }
  message.target(target);
  message.version(11);
  message.set(http::field::host, host);
  message.set(http::field::user_agent, kUserAgent);
  message.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) message.set(name, value);
  if (!request.contentType.empty()) message.set(http::field::content_type, request.contentType);
  message.body() = request.body;
  message.prepare_payload();
  return message;
}

inline HttpResponse fromBeast(const http::response<http::string_body>& message) {
  HttpResponse out;
  out.status = static_cast<int>(message.result_int());
  out.body = message.body();
  for (const auto& field : message) {
    std::string& slot = out.headers[lowerCase(std::string(field.name_string()))];
    std::string value(field.value());
    slot = slot.empty() ? value : slot + ", " + value;
  }
  return out;
}

// Sends `message`, allowing `timeout` for the whole request.
template <class Stream>
beast::error_code writeRequest(net::io_context& io, Stream& stream, http::request<http::string_body>& message,
                               milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  return runOne(io, [&](auto done) {
    http::async_write(stream, message, [done](beast::error_code e, std::size_t) { done(e); });
  });
}

// Reads one answer, allowing `timeout` between bytes (not for the whole body).
template <class Stream>
Result<HttpResponse> readResponse(net::io_context& io, Stream& stream, bool head, milliseconds timeout,
                                  const std::string& what) {
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  if (head) parser.skip(true);
  while (!parser.is_done()) {
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::error_code ec = runOne(io, [&](auto done) {
      http::async_read_some(stream, buffer, parser, [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec) return exchangeError(what, parser.got_some() ? "reading the answer" : "waiting for the answer", ec, timeout);
  }
  return fromBeast(parser.release());
}

}  // namespace cleanroom::beast_exchange
