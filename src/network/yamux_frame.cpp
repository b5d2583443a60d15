#include "network/yamux_frame.h"

#include <string>

namespace ciro::network::yamux {
namespace {
void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
}  // namespace

std::array<std::uint8_t, HEADER_SIZE> encode(const Header& h) {
  std::array<std::uint8_t, HEADER_SIZE> out{};
  out[0] = 0;
  out[1] = static_cast<std::uint8_t>(h.type);
  out[2] = static_cast<std::uint8_t>(h.flags >> 8);
  out[3] = static_cast<std::uint8_t>(h.flags);
  put32(&out[4], h.stream_id);
  put32(&out[8], h.length);
  return out;
}

Result<Header> decode(std::span<const std::uint8_t, HEADER_SIZE> b) {
  if (b[0] != 0) return Error(Errc::protocol, "yamux: unsupported version " + std::to_string(b[0]));
  if (b[1] > 3) return Error(Errc::protocol, "yamux: unknown frame type " + std::to_string(b[1]));
  Header h;
  h.type = static_cast<Type>(b[1]);
  h.flags = static_cast<std::uint16_t>((b[2] << 8) | b[3]);
  h.stream_id = get32(&b[4]);
  h.length = get32(&b[8]);
  return h;
}

}  // namespace ciro::network::yamux
