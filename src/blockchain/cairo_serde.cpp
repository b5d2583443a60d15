#include "blockchain/cairo_serde.h"

#include <limits>

namespace ciro::blockchain {

namespace {
using u128 = unsigned __int128;
constexpr std::size_t WORD = 31;

Error short_input(std::string_view what) {
  return make_error(Errc::protocol, std::string(what) + ": truncated Cairo data (no felt left)");
}
}  // namespace

CairoU256 CairoU256::from_u256(const U256& v) {
  return {static_cast<u128>(v.w[0]) | (static_cast<u128>(v.w[1]) << 64),
          static_cast<u128>(v.w[2]) | (static_cast<u128>(v.w[3]) << 64)};
}

U256 CairoU256::to_u256() const {
  return U256(static_cast<std::uint64_t>(low), static_cast<std::uint64_t>(low >> 64), static_cast<std::uint64_t>(high),
              static_cast<std::uint64_t>(high >> 64));
}

Felt felt_from_u128(u128 v) {
  return *Felt::from_u256(U256(static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64), 0, 0));
}

FeltWriter& FeltWriter::felt_array(std::span<const Felt> v) {
  u64(v.size());
  m_out.insert(m_out.end(), v.begin(), v.end());
  return *this;
}

static Felt felt_from_bytes_be(std::string_view bytes) {
  std::array<std::uint8_t, 32> buf{};
  std::copy(bytes.begin(), bytes.end(), buf.begin() + (32 - bytes.size()));
  return *Felt::from_u256(from_be_bytes(buf));  // <= 31 bytes: always < P
}

Felts encode_byte_array(std::string_view bytes) {
  Felts out;
  const std::size_t full = bytes.size() / WORD;
  out.push_back(Felt::from_u64(full));
  for (std::size_t i = 0; i < full; ++i) out.push_back(felt_from_bytes_be(bytes.substr(i * WORD, WORD)));
  const std::string_view pending = bytes.substr(full * WORD);
  out.push_back(felt_from_bytes_be(pending));
  out.push_back(Felt::from_u64(pending.size()));
  return out;
}

FeltWriter& FeltWriter::byte_array(std::string_view bytes) {
  const Felts f = encode_byte_array(bytes);
  m_out.insert(m_out.end(), f.begin(), f.end());
  return *this;
}

Result<Felt> FeltReader::felt(std::string_view what) {
  if (m_pos >= m_in.size()) return short_input(what);
  return m_in[m_pos++];
}

Result<u128> FeltReader::u128(std::string_view what) {
  CIRO_TRY(const Felt f, felt(what));
  const U256 v = f.to_u256();
  if (v.w[2] != 0 || v.w[3] != 0)
    return make_error(Errc::protocol, std::string(what) + ": value does not fit in u128: " + f.to_hex());
  return static_cast<unsigned __int128>(v.w[0]) | (static_cast<unsigned __int128>(v.w[1]) << 64);
}

Result<std::uint64_t> FeltReader::u64(std::string_view what) {
  CIRO_TRY(const unsigned __int128 v, u128(what));
  if (v > std::numeric_limits<std::uint64_t>::max())
    return make_error(Errc::protocol, std::string(what) + ": value does not fit in u64");
  return static_cast<std::uint64_t>(v);
}

Result<std::uint32_t> FeltReader::u32(std::string_view what) {
  CIRO_TRY(const std::uint64_t v, u64(what));
  if (v > 0xffffffffULL) return make_error(Errc::protocol, std::string(what) + ": value does not fit in u32");
  return static_cast<std::uint32_t>(v);
}

Result<std::uint8_t> FeltReader::u8(std::string_view what) {
  CIRO_TRY(const std::uint64_t v, u64(what));
  if (v > 0xff) return make_error(Errc::protocol, std::string(what) + ": value does not fit in u8");
  return static_cast<std::uint8_t>(v);
}

Result<bool> FeltReader::boolean(std::string_view what) {
  CIRO_TRY(const std::uint64_t v, u64(what));
  if (v > 1) return make_error(Errc::protocol, std::string(what) + ": bool must be 0 or 1");
  return v == 1;
}

Result<CairoU256> FeltReader::u256(std::string_view what) {
  CIRO_TRY(const unsigned __int128 low, u128(std::string(what) + ".low"));
  CIRO_TRY(const unsigned __int128 high, u128(std::string(what) + ".high"));
  return CairoU256{low, high};
}

Result<Felts> FeltReader::felt_array(std::string_view what) {
  CIRO_TRY(const std::uint64_t n, u64(std::string(what) + ".len"));
  if (n > remaining())
    return make_error(Errc::protocol, std::string(what) + ": array length " + std::to_string(n) + " exceeds the data");
  Felts out(m_in.begin() + static_cast<std::ptrdiff_t>(m_pos), m_in.begin() + static_cast<std::ptrdiff_t>(m_pos + n));
  m_pos += n;
  return out;
}

Result<std::uint64_t> FeltReader::variant(std::string_view what, std::uint64_t n_variants) {
  CIRO_TRY(const std::uint64_t v, u64(what));
  if (v >= n_variants) {
    return make_error(Errc::protocol, std::string(what) + ": enum variant " + std::to_string(v) + " out of range (" +
                                          std::to_string(n_variants) + " variants)");
  }
  return v;
}

static Result<std::string> word_bytes(const Felt& f, std::size_t len, std::string_view what) {
  const auto be = to_be_bytes(f.to_u256());
  for (std::size_t i = 0; i < 32 - len; ++i) {
    if (be[i] != 0) return make_error(Errc::protocol, std::string(what) + ": ByteArray word longer than its length");
  }
  return std::string(reinterpret_cast<const char*>(be.data()) + (32 - len), len);
}

Result<std::string> FeltReader::byte_array(std::string_view what) {
  CIRO_TRY(const std::uint64_t n, u64(std::string(what) + ".data.len"));
  if (n > remaining()) return make_error(Errc::protocol, std::string(what) + ": ByteArray word count exceeds the data");
  std::string out;
  for (std::uint64_t i = 0; i < n; ++i) {
    CIRO_TRY(const Felt w, felt(what));
    CIRO_TRY(std::string b, word_bytes(w, WORD, what));
    out += b;
  }
  CIRO_TRY(const Felt pending, felt(std::string(what) + ".pending_word"));
  CIRO_TRY(const std::uint64_t plen, u64(std::string(what) + ".pending_word_len"));
  if (plen >= WORD) return make_error(Errc::protocol, std::string(what) + ": pending_word_len must be < 31");
  CIRO_TRY(std::string tail, word_bytes(pending, static_cast<std::size_t>(plen), what));
  return out + tail;
}

Result<void> FeltReader::finish(std::string_view what) const {
  if (m_pos != m_in.size()) {
    return make_error(Errc::protocol,
                      std::string(what) + ": " + std::to_string(m_in.size() - m_pos) + " unexpected trailing felt(s)");
  }
  return {};
}

Result<std::string> decode_byte_array(std::span<const Felt> felts) {
  FeltReader r(felts);
  CIRO_TRY(std::string s, r.byte_array("ByteArray"));
  CIRO_TRY_VOID(r.finish("ByteArray"));
  return s;
}

Result<Felts> felts_from_hex(const std::vector<std::string>& hex) {
  Felts out;
  out.reserve(hex.size());
  for (std::size_t i = 0; i < hex.size(); ++i) {
    auto f = Felt::from_hex(hex[i]);
    if (!f) return make_error(Errc::protocol, "felt [" + std::to_string(i) + "]: " + f.error().message);
    out.push_back(*f);
  }
  return out;
}

std::vector<std::string> felts_to_hex(std::span<const Felt> felts) {
  std::vector<std::string> out;
  out.reserve(felts.size());
  for (const auto& f : felts) out.push_back(f.to_hex());
  return out;
}

}  // namespace ciro::blockchain
