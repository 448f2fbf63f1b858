// Digests and checksums of S3 payloads (protocol-notes §6.3): MD5 for ETags and
// Content-MD5, SHA-256 for x-amz-content-sha256, and the flexible checksums
// (x-amz-checksum-crc32 / crc32c / sha1 / sha256) whose wire form is the
// base64 of the big-endian digest. MD5/SHA come from OpenSSL's libcrypto; the
// CRCs are computed here. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// In their own namespace: generic names (toHex, base64Encode) must not clash
// with the SigV4 code of the same library.
namespace cleanroom::mocks::aws::s3checksum {

// Returns the CRC-32 (ISO-HDLC, as zlib and S3's CRC32) of `data`.
std::uint32_t crc32(std::string_view data);
// Returns the CRC-32C (Castagnoli, S3's CRC32C) of `data`.
std::uint32_t crc32c(std::string_view data);

// Return the raw (binary) digests of `data`.
std::string md5Digest(std::string_view data);
std::string sha1Digest(std::string_view data);
std::string sha256Digest(std::string_view data);

// Returns `bytes` as lower-case hex.
std::string toHex(std::string_view bytes);
// Returns `bytes` in standard base64 with padding.
std::string base64Encode(std::string_view bytes);
// Returns the bytes of standard padded base64 `text`, or nullopt when it is
// not valid base64.
std::optional<std::string> base64Decode(std::string_view text);

// Returns the base64 wire value of the flexible checksum `algorithm`
// ("crc32", "crc32c", "sha1", "sha256"; any case) of `data`, or nullopt for an
// algorithm this mock cannot compute (e.g. "crc64nvme": echoed, not verified).
std::optional<std::string> flexibleChecksum(std::string_view algorithm, std::string_view data);
// Returns the raw digest size in bytes of `algorithm` (4 for the CRCs, 20, 32,
// 8 for crc64nvme), or 0 when unknown.
std::size_t flexibleChecksumSize(std::string_view algorithm);

}  // namespace cleanroom::mocks::aws::s3checksum
