#include "cleanroom/mocks/http_message.h"

#include <algorithm>
#include <cctype>

namespace cleanroom::mocks {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void HttpHeaders::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void HttpHeaders::remove(std::string_view name) {
  std::erase_if(entries_, [&](const Entry& e) { return equalsIgnoreCase(e.first, name); });
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::string HttpHeaders::value(std::string_view name, std::string_view fallback) const {
  auto found = get(name);
  return found ? *found : std::string(fallback);
}

bool HttpHeaders::has(std::string_view name) const { return get(name).has_value(); }

std::string HttpRequest::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::optional<std::string> HttpRequest::queryValue(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> HttpRequest::queryValues(const std::string& name) const {
  std::vector<std::string> values;
  auto [first, last] = query.equal_range(name);
  for (auto it = first; it != last; ++it) values.push_back(it->second);
  return values;
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& value) {
  HttpResponse response;
  response.status = status;
  response.headers.set("Content-Type", "application/json");
  response.body = value.dump();
  return response;
}

HttpResponse HttpResponse::text(int status, std::string body, std::string contentType) {
  HttpResponse response;
  response.status = status;
  response.headers.set("Content-Type", std::move(contentType));
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::streamed(int status, std::string contentType,
                                    std::function<std::optional<std::string>()> stream) {
  HttpResponse response;
  response.status = status;
  response.headers.set("Content-Type", std::move(contentType));
  response.stream = std::move(stream);
  return response;
}

HttpResponse HttpResponse::empty(int status) {
  HttpResponse response;
  response.status = status;
  return response;
}

HttpResponse HttpResponse::error(int status, std::string message) {
  return json(status, {{"error", std::move(message)}});
}

std::string percentDecode(std::string_view text, bool plusIsSpace) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plusIsSpace) {
      decoded.push_back(' ');
      continue;
    }
    if (c == '%' && i + 2 < text.size()) {
      int high = hexValue(text[i + 1]);
      int low = hexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        decoded.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    decoded.push_back(c);
  }
  return decoded;
}

std::multimap<std::string, std::string> parseQuery(std::string_view rawQuery) {
  std::multimap<std::string, std::string> query;
  while (!rawQuery.empty()) {
    auto amp = rawQuery.find('&');
    std::string_view pair = rawQuery.substr(0, amp);
    rawQuery = amp == std::string_view::npos ? std::string_view() : rawQuery.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    query.emplace(percentDecode(key, true), percentDecode(value, true));
  }
  return query;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace cleanroom::mocks
