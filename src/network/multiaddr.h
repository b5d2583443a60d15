#pragma once
// Multiaddr: a self-describing network address (/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…), in text
// and binary form. Supports ip4, ip6, dns4, dns6, dns, tcp and p2p. Plain value type, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "network/peer_id.h"
#include "utils/result.h"

namespace ciro::network {

class Multiaddr {
 public:
  /// Protocol codes from the multicodec table.
  enum Code : std::uint32_t {
    IP4 = 4, TCP = 6, IP6 = 41, DNS = 53, DNS4 = 54, DNS6 = 55, P2P = 421,
  };
  struct Component {
    std::uint32_t code = 0;
    Bytes value;  ///< binary value (4/16 address bytes, 2-byte port, name, multihash)
    bool operator==(const Component&) const = default;
  };

  Multiaddr() = default;
  /// Fails on an unknown protocol, a missing or malformed value, or a name over 255 bytes.
  static Result<Multiaddr> parse(std::string_view text);
  static Result<Multiaddr> from_bytes(std::span<const std::uint8_t> data);
  /// /ip4/A/tcp/P or /ip6/A/tcp/P from an address string ("127.0.0.1", "::1").
  static Result<Multiaddr> from_ip_port(std::string_view ip, std::uint16_t port);

  std::string to_string() const;
  Bytes to_bytes() const;
  const std::vector<Component>& components() const { return m_components; }
  bool empty() const { return m_components.empty(); }

  /// The host part as text (IP or DNS name), the TCP port, the /p2p peer id, if present.
  std::optional<std::string> host() const;
  std::optional<std::uint16_t> tcp_port() const;
  std::optional<PeerId> peer_id() const;
  /// A copy with /p2p/<peer> appended (or replaced).
  Multiaddr with_peer(const PeerId& peer) const;
  /// A copy without a trailing /p2p component.
  Multiaddr without_peer() const;

  bool operator==(const Multiaddr&) const = default;

 private:
  std::vector<Component> m_components;
};

}  // namespace ciro::network
