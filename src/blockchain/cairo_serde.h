#pragma once
// Cairo Serde (the calldata / event-data encoding of Cairo 2 values) over felt252 vectors:
// u256 (low 128 bits first), arrays (length first), enums (variant index, then data), ByteArray
// (full 31-byte words, pending word, pending length), and a FeltReader that decodes with bounds
// checks. Plain values and pure functions; every decode error is an invalid_argument/protocol
// Result naming the field, never a crash.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blockchain/field.h"

namespace ciro::blockchain {

using Felts = std::vector<Felt>;

/// A Cairo u256: two 128-bit halves.
struct CairoU256 {
  unsigned __int128 low = 0;
  unsigned __int128 high = 0;
  static CairoU256 from_u64(std::uint64_t v) { return {v, 0}; }
  static CairoU256 from_u256(const U256& v);
  U256 to_u256() const;
  friend bool operator==(const CairoU256&, const CairoU256&) = default;
};

Felt felt_from_u128(unsigned __int128 v);
/// "0x..." of a felt; the minimal hex form the RPC spec asks for.
inline std::string felt_hex(const Felt& f) { return f.to_hex(); }

/// Appends values in Cairo Serde form.
class FeltWriter {
 public:
  FeltWriter& felt(const Felt& v) {
    m_out.push_back(v);
    return *this;
  }
  FeltWriter& u64(std::uint64_t v) { return felt(Felt::from_u64(v)); }
  FeltWriter& u128(unsigned __int128 v) { return felt(felt_from_u128(v)); }
  FeltWriter& boolean(bool v) { return u64(v ? 1 : 0); }
  FeltWriter& u256(const CairoU256& v) { return u128(v.low).u128(v.high); }
  /// Array<felt252> / Span<felt252>: length, then the elements.
  FeltWriter& felt_array(std::span<const Felt> v);
  /// Enum variant index with no data (unit variant); append data after for data variants.
  FeltWriter& variant(std::uint64_t index) { return u64(index); }
  /// ByteArray: full 31-byte words, the pending word and its length.
  FeltWriter& byte_array(std::string_view bytes);
  Felts take() { return std::move(m_out); }
  const Felts& felts() const { return m_out; }

 private:
  Felts m_out;
};

/// Reads Cairo Serde values from the front of a felt span; each read checks the remaining length
/// and the value's range and returns an error naming `what`.
class FeltReader {
 public:
  explicit FeltReader(std::span<const Felt> in) : m_in(in) {}
  Result<Felt> felt(std::string_view what);
  Result<std::uint64_t> u64(std::string_view what);
  Result<std::uint8_t> u8(std::string_view what);
  Result<std::uint32_t> u32(std::string_view what);
  Result<unsigned __int128> u128(std::string_view what);
  Result<bool> boolean(std::string_view what);
  Result<CairoU256> u256(std::string_view what);
  Result<Felts> felt_array(std::string_view what);
  /// Enum variant index, checked < n_variants.
  Result<std::uint64_t> variant(std::string_view what, std::uint64_t n_variants);
  Result<std::string> byte_array(std::string_view what);
  std::size_t remaining() const { return m_in.size() - m_pos; }
  /// Error unless every felt was consumed.
  Result<void> finish(std::string_view what) const;

 private:
  std::span<const Felt> m_in;
  std::size_t m_pos = 0;
};

/// ByteArray helpers (also used for revert reasons).
Felts encode_byte_array(std::string_view bytes);
Result<std::string> decode_byte_array(std::span<const Felt> felts);

/// Parses a list of hex felts from strings (error names the index).
Result<Felts> felts_from_hex(const std::vector<std::string>& hex);
std::vector<std::string> felts_to_hex(std::span<const Felt> felts);

}  // namespace ciro::blockchain
