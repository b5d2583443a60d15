#include "network/protobuf.h"

namespace ciro::network::pb {
namespace {
// protobuf varints may be up to 10 bytes and are not required to be minimal (unlike multiformats).
bool read_varint(std::span<const std::uint8_t> d, std::size_t& pos, std::uint64_t& out) {
  out = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos >= d.size()) return false;
    std::uint8_t b = d[pos++];
    out |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) return true;
  }
  return false;
}
}  // namespace

void Writer::varint_field(std::uint32_t field, std::uint64_t value) {
  utils::varint_append(m_out, static_cast<std::uint64_t>(field) << 3);
  // utils::varint_append is limited to 9 bytes (63 bits), which covers every value we send.
  utils::varint_append(m_out, value);
}

void Writer::bytes_field(std::uint32_t field, std::span<const std::uint8_t> value) {
  utils::varint_append(m_out, (static_cast<std::uint64_t>(field) << 3) | 2);
  utils::varint_append(m_out, value.size());
  m_out.insert(m_out.end(), value.begin(), value.end());
}

void Writer::string_field(std::uint32_t field, std::string_view value) {
  bytes_field(field, {reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
}

Result<Field> Reader::next() {
  std::uint64_t key = 0;
  if (!read_varint(m_data, m_pos, key)) return Error(Errc::protocol, "protobuf: truncated field key");
  Field f;
  f.number = static_cast<std::uint32_t>(key >> 3);
  f.wire_type = static_cast<std::uint32_t>(key & 7);
  if (f.number == 0 || (key >> 3) > 0x1fffffff) return Error(Errc::protocol, "protobuf: bad field number");
  switch (f.wire_type) {
    case 0:
      if (!read_varint(m_data, m_pos, f.value)) return Error(Errc::protocol, "protobuf: truncated varint");
      break;
    case 1:
      if (m_data.size() - m_pos < 8) return Error(Errc::protocol, "protobuf: truncated fixed64");
      f.data = m_data.subspan(m_pos, 8);
      m_pos += 8;
      break;
    case 5:
      if (m_data.size() - m_pos < 4) return Error(Errc::protocol, "protobuf: truncated fixed32");
      f.data = m_data.subspan(m_pos, 4);
      m_pos += 4;
      break;
    case 2: {
      std::uint64_t len = 0;
      if (!read_varint(m_data, m_pos, len)) return Error(Errc::protocol, "protobuf: truncated length");
      if (len > m_data.size() - m_pos) return Error(Errc::protocol, "protobuf: length past end of message");
      f.data = m_data.subspan(m_pos, static_cast<std::size_t>(len));
      m_pos += static_cast<std::size_t>(len);
      break;
    }
    default:
      return Error(Errc::protocol, "protobuf: unsupported wire type " + std::to_string(f.wire_type));
  }
  return f;
}

}  // namespace ciro::network::pb
