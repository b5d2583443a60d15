#include "network/multiaddr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ciro::network {
namespace {

constexpr std::size_t MAX_NAME = 255;
constexpr std::size_t MAX_COMPONENTS = 16;

struct ProtoInfo {
  std::uint32_t code;
  const char* name;
  int size;  ///< fixed value size in bytes, -1 = varint-length-prefixed
};
constexpr ProtoInfo PROTOS[] = {
    {Multiaddr::IP4, "ip4", 4},   {Multiaddr::TCP, "tcp", 2},   {Multiaddr::IP6, "ip6", 16},
    {Multiaddr::DNS, "dns", -1},  {Multiaddr::DNS4, "dns4", -1}, {Multiaddr::DNS6, "dns6", -1},
    {Multiaddr::P2P, "p2p", -1},
};

const ProtoInfo* by_name(std::string_view name) {
  if (name == "ipfs") name = "p2p";  // legacy alias
  for (const auto& p : PROTOS)
    if (name == p.name) return &p;
  return nullptr;
}
const ProtoInfo* by_code(std::uint64_t code) {
  for (const auto& p : PROTOS)
    if (code == p.code) return &p;
  return nullptr;
}

Result<Bytes> value_from_text(const ProtoInfo& p, std::string_view text) {
  std::string s(text);
  switch (p.code) {
    case Multiaddr::IP4: {
      Bytes b(4);
      if (inet_pton(AF_INET, s.c_str(), b.data()) != 1) return Error(Errc::invalid_argument, "multiaddr: bad ip4 " + s);
      return b;
    }
    case Multiaddr::IP6: {
      Bytes b(16);
      if (inet_pton(AF_INET6, s.c_str(), b.data()) != 1) return Error(Errc::invalid_argument, "multiaddr: bad ip6 " + s);
      return b;
    }
    case Multiaddr::TCP: {
      unsigned port = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
      if (ec != std::errc() || ptr != text.data() + text.size() || port > 65535 || text.empty())
        return Error(Errc::invalid_argument, "multiaddr: bad tcp port " + s);
      return Bytes{static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port & 0xff)};
    }
    case Multiaddr::P2P: {
      CIRO_TRY(auto peer, PeerId::parse(text));
      return peer.bytes();
    }
    default:  // dns names
      if (text.empty() || text.size() > MAX_NAME) return Error(Errc::invalid_argument, "multiaddr: bad dns name");
      return Bytes(text.begin(), text.end());
  }
}

Result<std::string> value_to_text(std::uint32_t code, const Bytes& v) {
  switch (code) {
    case Multiaddr::IP4:
    case Multiaddr::IP6: {
      char buf[INET6_ADDRSTRLEN] = {};
      if (!inet_ntop(code == Multiaddr::IP4 ? AF_INET : AF_INET6, v.data(), buf, sizeof buf))
        return Error(Errc::invalid_argument, "multiaddr: bad ip");
      return std::string(buf);
    }
    case Multiaddr::TCP:
      return std::to_string((unsigned(v[0]) << 8) | v[1]);
    case Multiaddr::P2P:
      return utils::base58_encode(v);
    default:
      return std::string(v.begin(), v.end());
  }
}

}  // namespace

Result<Multiaddr> Multiaddr::parse(std::string_view text) {
  if (text.empty() || text.front() != '/') return Error(Errc::invalid_argument, "multiaddr: must start with /");
  Multiaddr m;
  std::size_t pos = 1;
  auto next = [&]() -> std::optional<std::string_view> {
    if (pos > text.size()) return std::nullopt;
    auto end = text.find('/', pos);
    if (end == std::string_view::npos) end = text.size();
    auto part = text.substr(pos, end - pos);
    pos = end + 1;
    return part;
  };
  while (pos <= text.size()) {
    auto name = next();
    if (!name) break;
    if (name->empty()) {
      if (pos > text.size()) break;  // a trailing slash
      return Error(Errc::invalid_argument, "multiaddr: empty protocol name");
    }
    const ProtoInfo* p = by_name(*name);
    if (!p) return Error(Errc::invalid_argument, "multiaddr: unknown protocol " + std::string(*name));
    auto value = next();
    if (!value || value->empty())
      return Error(Errc::invalid_argument, "multiaddr: missing value for " + std::string(*name));
    CIRO_TRY(auto bytes, value_from_text(*p, *value));
    if (m.m_components.size() >= MAX_COMPONENTS) return Error(Errc::invalid_argument, "multiaddr: too many components");
    m.m_components.push_back({p->code, std::move(bytes)});
  }
  if (m.m_components.empty()) return Error(Errc::invalid_argument, "multiaddr: empty");
  return m;
}

Result<Multiaddr> Multiaddr::from_bytes(std::span<const std::uint8_t> data) {
  Multiaddr m;
  while (!data.empty()) {
    auto code = utils::varint_decode(data);
    if (!code) return Error(Errc::invalid_argument, "multiaddr: bad protocol varint");
    data = data.subspan(code->second);
    const ProtoInfo* p = by_code(code->first);
    if (!p) return Error(Errc::invalid_argument, "multiaddr: unknown protocol code " + std::to_string(code->first));
    std::size_t size;
    if (p->size >= 0) {
      size = static_cast<std::size_t>(p->size);
    } else {
      auto len = utils::varint_decode(data);
      if (!len) return Error(Errc::invalid_argument, "multiaddr: bad length varint");
      data = data.subspan(len->second);
      if (len->first > MAX_NAME) return Error(Errc::invalid_argument, "multiaddr: value too long");
      size = len->first;
    }
    if (data.size() < size) return Error(Errc::invalid_argument, "multiaddr: truncated");
    Bytes value(data.begin(), data.begin() + size);
    data = data.subspan(size);
    if (p->code == P2P) CIRO_TRY_VOID(PeerId::from_bytes(value));
    if (size == 0) return Error(Errc::invalid_argument, "multiaddr: empty value");
    if (m.m_components.size() >= MAX_COMPONENTS) return Error(Errc::invalid_argument, "multiaddr: too many components");
    m.m_components.push_back({p->code, std::move(value)});
  }
  if (m.m_components.empty()) return Error(Errc::invalid_argument, "multiaddr: empty");
  return m;
}

Result<Multiaddr> Multiaddr::from_ip_port(std::string_view ip, std::uint16_t port) {
  bool v6 = ip.find(':') != std::string_view::npos;
  return parse(std::string(v6 ? "/ip6/" : "/ip4/") + std::string(ip) + "/tcp/" + std::to_string(port));
}

std::string Multiaddr::to_string() const {
  std::string out;
  for (const auto& c : m_components) {
    const ProtoInfo* p = by_code(c.code);
    out += '/';
    out += p ? p->name : "?";
    out += '/';
    auto v = value_to_text(c.code, c.value);
    out += v ? *v : "?";
  }
  return out;
}

Bytes Multiaddr::to_bytes() const {
  Bytes out;
  for (const auto& c : m_components) {
    utils::varint_append(out, c.code);
    const ProtoInfo* p = by_code(c.code);
    if (p && p->size < 0) utils::varint_append(out, c.value.size());
    out.insert(out.end(), c.value.begin(), c.value.end());
  }
  return out;
}

std::optional<std::string> Multiaddr::host() const {
  for (const auto& c : m_components) {
    if (c.code == IP4 || c.code == IP6 || c.code == DNS || c.code == DNS4 || c.code == DNS6) {
      auto v = value_to_text(c.code, c.value);
      if (v) return *v;
    }
  }
  return std::nullopt;
}

std::optional<std::uint16_t> Multiaddr::tcp_port() const {
  for (const auto& c : m_components)
    if (c.code == TCP) return static_cast<std::uint16_t>((c.value[0] << 8) | c.value[1]);
  return std::nullopt;
}

std::optional<PeerId> Multiaddr::peer_id() const {
  for (const auto& c : m_components)
    if (c.code == P2P) {
      auto p = PeerId::from_bytes(c.value);
      if (p) return *p;
    }
  return std::nullopt;
}

Multiaddr Multiaddr::without_peer() const {
  Multiaddr m = *this;
  if (!m.m_components.empty() && m.m_components.back().code == P2P) m.m_components.pop_back();
  return m;
}

Multiaddr Multiaddr::with_peer(const PeerId& peer) const {
  Multiaddr m = without_peer();
  m.m_components.push_back({P2P, peer.bytes()});
  return m;
}

}  // namespace ciro::network
