#pragma once
// Yamux frame header codec (https://github.com/hashicorp/yamux/blob/master/spec.md): 12 bytes,
// big endian: version 0, type, flags (16), stream id (32), length (32). Pure functions.

#include <array>
#include <cstdint>
#include <span>

#include "utils/result.h"

namespace ciro::network::yamux {

inline constexpr const char* PROTOCOL = "/yamux/1.0.0";
inline constexpr std::size_t HEADER_SIZE = 12;
inline constexpr std::uint32_t INITIAL_WINDOW = 256 * 1024;
inline constexpr std::uint32_t MAX_WINDOW = 16 * 1024 * 1024;

enum class Type : std::uint8_t { Data = 0, WindowUpdate = 1, Ping = 2, GoAway = 3 };
enum Flags : std::uint16_t { SYN = 1, ACK = 2, FIN = 4, RST = 8 };
enum class GoAwayCode : std::uint32_t { Normal = 0, ProtocolError = 1, InternalError = 2 };

struct Header {
  Type type = Type::Data;
  std::uint16_t flags = 0;
  std::uint32_t stream_id = 0;
  std::uint32_t length = 0;  ///< data length, window delta, ping opaque value or go-away code
  bool operator==(const Header&) const = default;
};

std::array<std::uint8_t, HEADER_SIZE> encode(const Header& h);
/// Fails on a version other than 0 or an unknown type.
Result<Header> decode(std::span<const std::uint8_t, HEADER_SIZE> bytes);

}  // namespace ciro::network::yamux
