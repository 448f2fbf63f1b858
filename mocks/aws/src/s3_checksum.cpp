#include "s3_checksum.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <openssl/evp.h>

namespace cleanroom::mocks::aws::s3checksum {
namespace {

// The byte table of a reflected CRC-32 with the (reflected) polynomial `poly`.
constexpr std::array<std::uint32_t, 256> crcTable(std::uint32_t poly) {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value & 1u) ? (poly ^ (value >> 1)) : (value >> 1);
    table[i] = value;
  }
  return table;
}

constexpr auto kCrc32Table = crcTable(0xEDB88320u);
constexpr auto kCrc32cTable = crcTable(0x82F63B78u);

std::uint32_t reflectedCrc(const std::array<std::uint32_t, 256>& table, std::string_view data) {
  std::uint32_t value = 0xFFFFFFFFu;
  for (unsigned char byte : data) value = table[(value ^ byte) & 0xFFu] ^ (value >> 8);
  return value ^ 0xFFFFFFFFu;
}

std::string digest(const EVP_MD* type, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out, &size, type, nullptr);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string bigEndian(std::uint32_t value) {
  std::string bytes(4, '\0');
  for (int i = 0; i < 4; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((value >> (24 - 8 * i)) & 0xFFu);
  return bytes;
}

std::string lower(std::string_view text) {
  std::string result(text);
  for (auto& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(char c) {
  auto position = kBase64Alphabet.find(c);
  return position == std::string_view::npos ? -1 : static_cast<int>(position);
}

}  // namespace

std::uint32_t crc32(std::string_view data) { return reflectedCrc(kCrc32Table, data); }
std::uint32_t crc32c(std::string_view data) { return reflectedCrc(kCrc32cTable, data); }

std::string md5Digest(std::string_view data) { return digest(EVP_md5(), data); }
std::string sha1Digest(std::string_view data) { return digest(EVP_sha1(), data); }
std::string sha256Digest(std::string_view data) { return digest(EVP_sha256(), data); }

std::string toHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0Fu]);
  }
  return hex;
}

std::string base64Encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t count = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      group <<= 8;
      if (j < count) group |= static_cast<unsigned char>(bytes[i + j]);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      text.push_back(j <= count ? kBase64Alphabet[(group >> (18 - 6 * j)) & 0x3Fu] : '=');
    }
  }
  return text;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string bytes;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t group = 0;
    std::size_t padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const bool last = i + 4 == text.size();
      if (c == '=' && last && j >= 2) {
        ++padding;
        group <<= 6;
        continue;
      }
      const int value = base64Value(c);
      if (value < 0 || padding > 0) return std::nullopt;
      group = (group << 6) | static_cast<std::uint32_t>(value);
    }
    for (std::size_t j = 0; j < 3 - padding; ++j) bytes.push_back(static_cast<char>((group >> (16 - 8 * j)) & 0xFFu));
  }
  return bytes;
}

std::optional<std::string> flexibleChecksum(std::string_view algorithm, std::string_view data) {
  const std::string name = lower(algorithm);
  if (name == "crc32") return base64Encode(bigEndian(crc32(data)));
  if (name == "crc32c") return base64Encode(bigEndian(crc32c(data)));
  if (name == "sha1") return base64Encode(sha1Digest(data));
  if (name == "sha256") return base64Encode(sha256Digest(data));
  return std::nullopt;
}

std::size_t flexibleChecksumSize(std::string_view algorithm) {
  const std::string name = lower(algorithm);
  if (name == "crc32" || name == "crc32c") return 4;
  if (name == "sha1") return 20;
  if (name == "sha256") return 32;
  if (name == "crc64nvme") return 8;
  return 0;
}

}  // namespace cleanroom::mocks::aws::s3checksum
