#pragma once
// Minimal protobuf wire-format writer and reader for the few small libp2p messages (Noise
// payload, Identify, PublicKey). Hand-written so the network library needs no protoc step; the
// reader rejects malformed input with an error and never reads out of bounds.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "utils/encoding.h"
#include "utils/result.h"

namespace ciro::network::pb {

using utils::Bytes;

class Writer {
 public:
  void varint_field(std::uint32_t field, std::uint64_t value);
  void bytes_field(std::uint32_t field, std::span<const std::uint8_t> value);
  void string_field(std::uint32_t field, std::string_view value);
  const Bytes& bytes() const { return m_out; }
  Bytes take() { return std::move(m_out); }

 private:
  Bytes m_out;
};

/// One decoded field. For length-delimited fields `data` views the input buffer.
struct Field {
  std::uint32_t number = 0;
  std::uint32_t wire_type = 0;  ///< 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  std::uint64_t value = 0;
  std::span<const std::uint8_t> data;
  std::string_view text() const { return {reinterpret_cast<const char*>(data.data()), data.size()}; }
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : m_data(data) {}
  bool done() const { return m_pos >= m_data.size(); }
  /// The next field; an error on a truncated or malformed field or a group wire type.
  Result<Field> next();

 private:
  std::span<const std::uint8_t> m_data;
  std::size_t m_pos = 0;
};

}  // namespace ciro::network::pb
