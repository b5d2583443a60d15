#pragma once
// Identify message (/ipfs/id/1.0.0 and /ipfs/id/push/1.0.0) codec. Pure functions.

#include <optional>
#include <string>
#include <vector>

#include "network/multiaddr.h"
#include "utils/result.h"

namespace ciro::network {

struct IdentifyMessage {
  Bytes public_key;  ///< libp2p PublicKey protobuf
  std::vector<Bytes> listen_addrs;  ///< binary multiaddrs (kept raw: unknown protocols are skipped later)
  std::vector<std::string> protocols;
  std::optional<Bytes> observed_addr;
  std::optional<std::string> protocol_version;
  std::optional<std::string> agent_version;
  std::optional<Bytes> signed_peer_record;
};

/// The largest identify message we accept (js-libp2p's limit).
inline constexpr std::size_t MAX_IDENTIFY_MESSAGE = 8 * 1024;

Bytes encode_identify(const IdentifyMessage& m);
/// Fails on malformed protobuf or more entries than a peer store keeps (64 addrs, 256 protocols).
Result<IdentifyMessage> decode_identify(std::span<const std::uint8_t> data);

}  // namespace ciro::network
