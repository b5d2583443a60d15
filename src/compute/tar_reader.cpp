#include "compute/tar_reader.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace ciro::compute {
namespace {

constexpr std::size_t BLOCK = 512;

std::uint64_t padding_for(std::uint64_t size) { return (BLOCK - size % BLOCK) % BLOCK; }

/// A NUL-terminated field of at most n bytes.
std::string field_string(const char* p, std::size_t n) {
  std::size_t len = 0;
  while (len < n && p[len] != '\0') ++len;
  return std::string(p, len);
}

/// Octal (spaces/NUL padded) or GNU base-256 (high bit of the first byte set) number field.
std::optional<std::uint64_t> field_number(const char* p, std::size_t n) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if (n > 0 && (u[0] & 0x80) != 0) {
    if ((u[0] & 0x40) != 0) return std::nullopt;  // negative
    std::uint64_t v = u[0] & 0x3f;
    for (std::size_t i = 1; i < n; ++i) {
      if (v > (UINT64_MAX >> 8)) return std::nullopt;
      v = (v << 8) | u[i];
    }
    return v;
  }
  std::size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\0')) ++i;
  std::uint64_t v = 0;
  bool any = false;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v > (UINT64_MAX >> 3)) return std::nullopt;
    v = (v << 3) | static_cast<std::uint64_t>(p[i] - '0');
    any = true;
  }
  for (; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return std::nullopt;
  }
  if (!any) return 0;
  return v;
}

bool checksum_ok(const char* block) {
  auto stored = field_number(block + 148, 8);
  if (!stored) return false;
  std::uint64_t sum = 0;
  const auto* u = reinterpret_cast<const unsigned char*>(block);
  for (std::size_t i = 0; i < BLOCK; ++i) sum += (i >= 148 && i < 156) ? 0x20 : u[i];
  return sum == *stored;
}

bool all_zero(const char* block) {
  return std::all_of(block, block + BLOCK, [](char c) { return c == '\0'; });
}

/// Parses pax records "LEN key=value\n"; applies path, linkpath and size.
Result<void> parse_pax(std::string_view data, std::string& path, std::string& link, bool& has_size,
                       std::uint64_t& size) {
  while (!data.empty()) {
    std::size_t sp = data.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp > 20) {
      return make_error(Errc::protocol, "tar: malformed pax record length");
    }
    std::uint64_t len = 0;
    for (std::size_t i = 0; i < sp; ++i) {
      if (data[i] < '0' || data[i] > '9') return make_error(Errc::protocol, "tar: malformed pax record length");
      len = len * 10 + static_cast<std::uint64_t>(data[i] - '0');
    }
    if (len <= sp + 1 || len > data.size() || data[len - 1] != '\n') {
      return make_error(Errc::protocol, "tar: pax record length out of range");
    }
    std::string_view record = data.substr(sp + 1, len - sp - 2);
    std::size_t eq = record.find('=');
    if (eq == std::string_view::npos) return make_error(Errc::protocol, "tar: pax record without '='");
    std::string_view key = record.substr(0, eq);
    std::string_view value = record.substr(eq + 1);
    if (key == "path") {
      path = std::string(value);
    } else if (key == "linkpath") {
      link = std::string(value);
    } else if (key == "size") {
      std::uint64_t v = 0;
      if (value.empty() || value.size() > 19) return make_error(Errc::protocol, "tar: bad pax size");
      for (char c : value) {
        if (c < '0' || c > '9') return make_error(Errc::protocol, "tar: bad pax size");
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      has_size = true;
      size = v;
    }
    data.remove_prefix(len);
  }
  return {};
}

}  // namespace

Result<void> TarReader::fail(Error error) {
  m_state = State::failed;
  m_error = error;
  return error;
}

Result<void> TarReader::feed(std::string_view data, TarVisitor& visitor) {
  while (!data.empty()) {
    switch (m_state) {
      case State::failed:
        return m_error;
      case State::end:
        return {};  // trailing zero blocks / padding after the end marker are ignored
      case State::header: {
        std::size_t take = std::min(BLOCK - m_block.size(), data.size());
        m_block.append(data.data(), take);
        data.remove_prefix(take);
        if (m_block.size() < BLOCK) break;
        auto r = on_header(visitor);
        m_block.clear();
        if (!r) return fail(std::move(r).error());
        break;
      }
      case State::meta: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(m_remaining, data.size()));
        m_meta.append(data.data(), take);
        data.remove_prefix(take);
        m_remaining -= take;
        if (m_remaining == 0) {
          auto r = on_meta_complete();
          if (!r) return fail(std::move(r).error());
          m_state = m_padding > 0 ? State::padding : State::header;
        }
        break;
      }
      case State::data: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(m_remaining, data.size()));
        if (take > 0) {
          auto r = visitor.on_data(data.substr(0, take));
          if (!r) return fail(std::move(r).error());
        }
        data.remove_prefix(take);
        m_remaining -= take;
        if (m_remaining == 0) {
          m_in_entry = false;
          auto r = visitor.on_entry_end();
          if (!r) return fail(std::move(r).error());
          m_state = m_padding > 0 ? State::padding : State::header;
        }
        break;
      }
      case State::padding: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(m_padding, data.size()));
        data.remove_prefix(take);
        m_padding -= take;
        if (m_padding == 0) m_state = State::header;
        break;
      }
    }
  }
  if (m_state == State::failed) return m_error;
  return {};
}

Result<void> TarReader::on_header(TarVisitor& visitor) {
  const char* b = m_block.data();
  if (all_zero(b)) {
    m_state = State::end;
    return {};
  }
  if (!checksum_ok(b)) return make_error(Errc::protocol, "tar: header checksum mismatch (not a tar archive?)");
  auto size = field_number(b + 124, 12);
  auto mode = field_number(b + 100, 8);
  if (!size || !mode) return make_error(Errc::protocol, "tar: malformed size or mode field");
  char type = b[156];

  if (type == 'L' || type == 'K' || type == 'x' || type == 'g') {
    if (*size > MAX_META_BYTES) return make_error(Errc::protocol, "tar: long name or pax header too large");
    m_meta_type = type;
    m_meta.clear();
    m_remaining = *size;
    m_padding = padding_for(*size);
    if (m_remaining == 0) {
      CIRO_TRY_VOID(on_meta_complete());
      m_state = m_padding > 0 ? State::padding : State::header;
    } else {
      m_state = State::meta;
    }
    return {};
  }

  TarEntry e;
  e.typeflag = type;
  e.mode = static_cast<std::uint32_t>(*mode & 07777);
  std::string name = field_string(b, 100);
  bool ustar = std::memcmp(b + 257, "ustar", 5) == 0;
  if (ustar) {
    std::string prefix = field_string(b + 345, 155);
    if (!prefix.empty()) name = prefix + "/" + name;
  }
  e.path = m_next_path.empty() ? name : m_next_path;
  e.link_target = m_next_link.empty() ? field_string(b + 157, 100) : m_next_link;
  std::uint64_t content = m_has_next_size ? m_next_size : *size;
  m_next_path.clear();
  m_next_link.clear();
  m_has_next_size = false;

  switch (type) {
    case '0': case '\0': case '7': e.type = TarEntryType::file; break;
    case '5': e.type = TarEntryType::directory; break;
    case '2': e.type = TarEntryType::symlink; break;
    case '1': e.type = TarEntryType::hardlink; break;
    default: e.type = TarEntryType::other; break;
  }
  // Old-style archives mark directories with a trailing slash on a regular entry.
  if (e.type == TarEntryType::file && !e.path.empty() && e.path.back() == '/') e.type = TarEntryType::directory;
  // Only regular files (and unknown types, skipped as data) carry content; links and directories
  // declare 0, but honour a non-zero size so the stream stays in sync.
  e.size = (e.type == TarEntryType::file) ? content : 0;
  m_remaining = content;
  m_padding = padding_for(content);
  m_in_entry = true;
  m_state = State::data;
  CIRO_TRY_VOID(visitor.on_entry(e));
  if (m_remaining == 0) {
    m_in_entry = false;
    CIRO_TRY_VOID(visitor.on_entry_end());
    m_state = m_padding > 0 ? State::padding : State::header;
  } else if (e.type != TarEntryType::file) {
    // Content of a non-file entry is skipped: treat it as padding for the visitor.
    m_in_entry = false;
    CIRO_TRY_VOID(visitor.on_entry_end());
    m_padding += m_remaining;
    m_remaining = 0;
    m_state = State::padding;
  }
  return {};
}

Result<void> TarReader::on_meta_complete() {
  switch (m_meta_type) {
    case 'L':
      m_next_path = field_string(m_meta.data(), m_meta.size());
      break;
    case 'K':
      m_next_link = field_string(m_meta.data(), m_meta.size());
      break;
    case 'x':
      CIRO_TRY_VOID(parse_pax(m_meta, m_next_path, m_next_link, m_has_next_size, m_next_size));
      break;
    default:
      break;  // 'g' global pax headers: nothing we use
  }
  m_meta.clear();
  return {};
}

Result<void> TarReader::finish() const {
  switch (m_state) {
    case State::failed:
      return m_error;
    case State::end:
      return {};
    case State::header:
      if (m_block.empty() && m_next_path.empty() && m_next_link.empty()) return {};
      return make_error(Errc::protocol, "tar: archive ends inside a header");
    default:
      return make_error(Errc::protocol, "tar: archive truncated inside an entry");
  }
}

}  // namespace ciro::compute
