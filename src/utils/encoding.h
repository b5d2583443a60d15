#pragma once
// Byte encodings shared by every subsystem: hex, base58btc, base64, unsigned varints.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ciro::utils {

using Bytes = std::vector<std::uint8_t>;

std::string to_hex(std::span<const std::uint8_t> data);
/// Accepts an optional 0x prefix and either case; nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);

std::string base58_encode(std::span<const std::uint8_t> data);
/// nullopt on a character outside the bitcoin base58 alphabet.
std::optional<Bytes> base58_decode(std::string_view text);

std::string base64_encode(std::span<const std::uint8_t> data);
/// Standard alphabet with padding; nullopt on malformed input.
std::optional<Bytes> base64_decode(std::string_view text);

/// Unsigned LEB128 varint (multiformats flavour, at most 9 bytes).
void varint_append(Bytes& out, std::uint64_t value);
/// Decodes from the front of data; returns {value, bytes used}, or nullopt when data is
/// truncated, longer than 9 bytes, or not minimally encoded.
std::optional<std::pair<std::uint64_t, std::size_t>> varint_decode(std::span<const std::uint8_t> data);

}  // namespace ciro::utils
