#include "s3_xml.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <random>

#include "s3_checksum.h"

namespace cleanroom::mocks::aws {
using namespace s3checksum;
namespace {

std::string escapeXml(std::string_view text);

constexpr std::string_view kDeclaration = R"(<?xml version="1.0" encoding="UTF-8"?>)";

std::string element(std::string_view name, std::string_view text) {
  std::string out;
  out.reserve(name.size() * 2 + text.size() + 5);
  out.append("<").append(name).append(">").append(escapeXml(text)).append("</").append(name).append(">");
  return out;
}

std::string openRoot(std::string_view name) {
  return std::string(kDeclaration) + "<" + std::string(name) + " xmlns=\"" + std::string(kS3Namespace) + "\">";
}

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string checksumElements(const std::map<std::string, std::string>& checksums) {
  std::string out;
  for (const auto& [algorithm, value] : checksums) out += element("Checksum" + upper(algorithm), value);
  return out;
}

std::string ownerXml() {
  return "<Owner><ID>cleanroom0000000000000000000000000000000000000000000000000000mock</ID>"
         "<DisplayName>cleanroom</DisplayName></Owner>";
}

// Thread-safe random source for request ids.
std::string randomBytes(std::size_t count) {
  static std::atomic<std::uint64_t> counter{std::random_device{}()};
  std::mt19937_64 generator(counter.fetch_add(0x9E3779B97F4A7C15ull));
  std::string bytes(count, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(generator() & 0xFFu);
  return bytes;
}

// A small recursive-descent reader of the XML S3 request bodies use.
class XmlReader {
 public:
  explicit XmlReader(std::string_view text) : text_(text) {}

  ParseResult<XmlElement> document() {
    skipMisc();
    if (!startsWith("<")) return fail("expected the root element");
    XmlElement root;
    if (!readElement(root)) return fail(error_);
    skipMisc();
    if (pos_ != text_.size()) return fail("unexpected content after the root element");
    return ParseResult<XmlElement>::ok(std::move(root));
  }

 private:
  ParseResult<XmlElement> fail(const std::string& what) {
    return ParseResult<XmlElement>::error("body", "malformed XML at byte " + std::to_string(pos_) + ": " + what);
  }

  bool startsWith(std::string_view prefix) const { return text_.substr(pos_, prefix.size()) == prefix; }

  bool skipPast(std::string_view terminator) {
    auto found = text_.find(terminator, pos_);
    if (found == std::string_view::npos) return false;
    pos_ = found + terminator.size();
    return true;
  }

  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  // Skips whitespace, the declaration, processing instructions and comments.
  void skipMisc() {
    for (;;) {
      skipSpace();
      if (startsWith("<?")) {
        if (!skipPast("?>")) return;
      } else if (startsWith("<!--")) {
        if (!skipPast("-->")) return;
      } else {
        return;
      }
    }
  }

  static bool isNameChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
  }

  std::string readName() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && isNameChar(text_[pos_])) ++pos_;
    std::string name(text_.substr(start, pos_ - start));
    auto colon = name.rfind(':');
    return colon == std::string::npos ? name : name.substr(colon + 1);
  }

  // Reads "<name attrs…>content</name>" or "<name …/>" at pos_.
  bool readElement(XmlElement& out) {
    ++pos_;  // '<'
    out.name = readName();
    if (out.name.empty()) return setError("expected an element name");
    if (!skipAttributes()) return false;
    if (startsWith("/>")) {
      pos_ += 2;
      return true;
    }
    ++pos_;  // '>'
    return readContent(out);
  }

  bool skipAttributes() {
    char quote = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>' || (c == '/' && startsWith("/>"))) {
        return true;
      }
      ++pos_;
    }
    return setError("unterminated start tag <" + std::string() + ">");
  }

  bool readContent(XmlElement& out) {
    while (pos_ < text_.size()) {
      if (startsWith("</")) {
        pos_ += 2;
        const std::string name = readName();
        skipSpace();
        if (name != out.name || !startsWith(">")) return setError("</" + name + "> does not close <" + out.name + ">");
        ++pos_;
        return true;
      }
      if (startsWith("<!--")) {
        if (!skipPast("-->")) return setError("unterminated comment");
      } else if (startsWith("<![CDATA[")) {
        const std::size_t start = pos_ + 9;
        if (!skipPast("]]>")) return setError("unterminated CDATA section");
        out.text.append(text_.substr(start, pos_ - 3 - start));
      } else if (startsWith("<?")) {
        if (!skipPast("?>")) return setError("unterminated processing instruction");
      } else if (startsWith("<")) {
        XmlElement child;
        if (!readElement(child)) return false;
        out.children.push_back(std::move(child));
      } else if (!readText(out.text)) {
        return false;
      }
    }
    return setError("<" + out.name + "> is not closed");
  }

  bool readText(std::string& out) {
    while (pos_ < text_.size() && text_[pos_] != '<') {
      if (text_[pos_] != '&') {
        out.push_back(text_[pos_++]);
        continue;
      }
      const auto end = text_.find(';', pos_);
      if (end == std::string_view::npos) return setError("unterminated entity");
      if (!appendEntity(text_.substr(pos_ + 1, end - pos_ - 1), out)) return false;
      pos_ = end + 1;
    }
    return true;
  }

  bool appendEntity(std::string_view entity, std::string& out) {
    if (entity == "amp") return out.push_back('&'), true;
    if (entity == "lt") return out.push_back('<'), true;
    if (entity == "gt") return out.push_back('>'), true;
    if (entity == "quot") return out.push_back('"'), true;
    if (entity == "apos") return out.push_back('\''), true;
    if (entity.size() < 2 || entity[0] != '#') return setError("unknown entity &" + std::string(entity) + ";");
    const bool hex = entity[1] == 'x' || entity[1] == 'X';
    const std::string digits(entity.substr(hex ? 2 : 1));
    char* end = nullptr;
    const unsigned long code = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
    if (digits.empty() || *end != '\0' || code > 0x10FFFF) return setError("bad character reference");
    appendUtf8(static_cast<std::uint32_t>(code), out);
    return true;
  }

  static void appendUtf8(std::uint32_t code, std::string& out) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  bool setError(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    return false;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace

namespace {
std::string escapeXml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}
}  // namespace

std::string s3UrlEncode(std::string_view key) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    out.push_back('%');
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0x0F]);
  }
  return out;
}

const XmlElement* XmlElement::child(std::string_view childName) const {
  for (const auto& candidate : children) {
    if (candidate.name == childName) return &candidate;
  }
  return nullptr;
}

std::string XmlElement::childText(std::string_view childName) const {
  const XmlElement* found = child(childName);
  return found ? found->text : std::string();
}

std::vector<const XmlElement*> XmlElement::childrenNamed(std::string_view childName) const {
  std::vector<const XmlElement*> found;
  for (const auto& candidate : children) {
    if (candidate.name == childName) found.push_back(&candidate);
  }
  return found;
}

ParseResult<XmlElement> parseXml(std::string_view document) { return XmlReader(document).document(); }

void addRequestIds(HttpResponse& response) {
  std::string id = toHex(randomBytes(8));
  for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  response.headers.set("x-amz-request-id", id);
  response.headers.set("x-amz-id-2", base64Encode(randomBytes(48)));
}

HttpResponse s3Xml(int status, std::string body) {
  HttpResponse response = HttpResponse::text(status, std::move(body), "application/xml");
  addRequestIds(response);
  return response;
}

HttpResponse s3Error(int status, std::string code, std::string message,
                     std::vector<std::pair<std::string, std::string>> fields) {
  HttpResponse response = s3Xml(status, "");
  std::string body(kDeclaration);
  body += "<Error>" + element("Code", code) + element("Message", message);
  for (const auto& [name, value] : fields) body += element(name, value);
  body += element("RequestId", response.headers.value("x-amz-request-id"));
  body += element("HostId", response.headers.value("x-amz-id-2"));
  body += "</Error>";
  response.body = std::move(body);
  return response;
}

HttpResponse s3Error(const S3Error& error) { return s3Error(error.status, error.code, error.message, error.fields); }

HttpResponse forHead(HttpResponse response) {
  response.body.clear();
  response.headers.set("Content-Length", "0");
  return response;
}

std::string listBucketsXml(const std::vector<S3BucketInfo>& buckets) {
  std::string out = openRoot("ListAllMyBucketsResult") + ownerXml() + "<Buckets>";
  for (const auto& bucket : buckets) {
    out += "<Bucket>" + element("Name", bucket.name) + element("CreationDate", s3IsoTime(bucket.created)) +
           element("BucketRegion", bucket.region) + "</Bucket>";
  }
  return out + "</Buckets></ListAllMyBucketsResult>";
}

std::string listObjectsXml(const S3ListingEcho& echo, const S3ListPage& page) {
  auto encoded = [&](const std::string& text) { return echo.urlEncoding ? s3UrlEncode(text) : text; };
  std::string out = openRoot("ListBucketResult") + element("Name", echo.bucket) + element("Prefix", encoded(echo.prefix));
  if (!echo.v2) out += element("Marker", encoded(echo.marker));
  if (!echo.delimiter.empty()) out += element("Delimiter", encoded(echo.delimiter));
  out += element("MaxKeys", std::to_string(echo.maxKeys));
  if (echo.urlEncoding) out += element("EncodingType", "url");
  out += element("IsTruncated", page.truncated ? "true" : "false");
  if (echo.v2) {
    out += element("KeyCount", std::to_string(page.contents.size() + page.commonPrefixes.size()));
    if (!echo.continuationToken.empty()) out += element("ContinuationToken", echo.continuationToken);
    if (!echo.nextContinuationToken.empty()) out += element("NextContinuationToken", echo.nextContinuationToken);
    if (!echo.startAfter.empty()) out += element("StartAfter", encoded(echo.startAfter));
  } else if (!echo.nextMarker.empty()) {
    out += element("NextMarker", encoded(echo.nextMarker));
  }
  for (const auto& object : page.contents) {
    out += "<Contents>" + element("Key", encoded(object.key)) + element("LastModified", s3IsoTime(object.lastModified)) +
           element("ETag", object.etag);
    for (const auto& [algorithm, value] : object.checksums) out += element("ChecksumAlgorithm", upper(algorithm));
    out += element("Size", std::to_string(object.size)) + element("StorageClass", "STANDARD") + "</Contents>";
  }
  for (const auto& prefix : page.commonPrefixes) {
    out += "<CommonPrefixes>" + element("Prefix", encoded(prefix)) + "</CommonPrefixes>";
  }
  return out + "</ListBucketResult>";
}

std::string locationXml(const std::string& region) {
  return std::string(kDeclaration) + "<LocationConstraint xmlns=\"" + std::string(kS3Namespace) + "\">" +
         escapeXml(region == "us-east-1" ? "" : region) + "</LocationConstraint>";
}

std::string deleteResultXml(const std::vector<std::string>& deleted,
                            const std::vector<std::pair<std::string, S3Error>>& errors, bool quiet) {
  std::string out = openRoot("DeleteResult");
  if (!quiet) {
    for (const auto& key : deleted) out += "<Deleted>" + element("Key", key) + "</Deleted>";
  }
  for (const auto& [key, error] : errors) {
    out += "<Error>" + element("Key", key) + element("Code", error.code) + element("Message", error.message) + "</Error>";
  }
  return out + "</DeleteResult>";
}

std::string initiateUploadXml(const S3UploadInfo& upload) {
  return openRoot("InitiateMultipartUploadResult") + element("Bucket", upload.bucket) + element("Key", upload.key) +
         element("UploadId", upload.uploadId) + "</InitiateMultipartUploadResult>";
}

std::string completeUploadXml(const std::string& location, const std::string& bucket, const S3ObjectInfo& object) {
  return openRoot("CompleteMultipartUploadResult") + element("Location", location) + element("Bucket", bucket) +
         element("Key", object.key) + element("ETag", object.etag) + checksumElements(object.checksums) +
         "</CompleteMultipartUploadResult>";
}

std::string listPartsXml(const S3UploadInfo& upload) {
  std::string out = openRoot("ListPartsResult") + element("Bucket", upload.bucket) + element("Key", upload.key) +
                    element("UploadId", upload.uploadId) + element("PartNumberMarker", "0");
  out += element("NextPartNumberMarker", upload.parts.empty() ? "0" : std::to_string(upload.parts.back().number));
  out += element("MaxParts", "1000") + element("IsTruncated", "false");
  if (!upload.checksumAlgorithm.empty()) out += element("ChecksumAlgorithm", upper(upload.checksumAlgorithm));
  out += ownerXml() + element("StorageClass", "STANDARD");
  for (const auto& part : upload.parts) {
    out += "<Part>" + element("PartNumber", std::to_string(part.number)) +
           element("LastModified", s3IsoTime(part.lastModified)) + element("ETag", part.etag) +
           element("Size", std::to_string(part.size)) + checksumElements(part.checksums) + "</Part>";
  }
  return out + "</ListPartsResult>";
}

std::string listUploadsXml(const std::string& bucket, const std::vector<S3UploadInfo>& uploads) {
  std::string out = openRoot("ListMultipartUploadsResult") + element("Bucket", bucket) + element("KeyMarker", "") +
                    element("UploadIdMarker", "") + element("MaxUploads", "1000") + element("IsTruncated", "false");
  for (const auto& upload : uploads) {
    out += "<Upload>" + element("Key", upload.key) + element("UploadId", upload.uploadId) + ownerXml() +
           element("StorageClass", "STANDARD") + element("Initiated", s3IsoTime(upload.initiated));
    if (!upload.checksumAlgorithm.empty()) out += element("ChecksumAlgorithm", upper(upload.checksumAlgorithm));
    out += "</Upload>";
  }
  return out + "</ListMultipartUploadsResult>";
}

std::string copyObjectXml(const S3ObjectInfo& object) {
  return openRoot("CopyObjectResult") + element("LastModified", s3IsoTime(object.lastModified)) +
         element("ETag", object.etag) + checksumElements(object.checksums) + "</CopyObjectResult>";
}

}  // namespace cleanroom::mocks::aws
