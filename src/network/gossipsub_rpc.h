#pragma once
// GossipSub RPC wire codec (/meshsub/1.0.0, 1.1.0, 1.2.0; the pubsub RPC protobuf with the
// gossipsub control extensions and IDONTWANT). Pure functions, no I/O. The decoder rejects
// malformed protobuf and caps every repeated field, so a hostile RPC cannot make it allocate
// more than a small multiple of its own size.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "utils/encoding.h"
#include "utils/result.h"

namespace ciro::network::gossip {

using utils::Bytes;

struct SubOpts {
  bool subscribe = false;
  std::string topic;
};

/// A pubsub message. Presence matters for signatures (StrictSign re-encodes the message), so
/// optional fields stay optional.
struct Message {
  std::optional<Bytes> from;  ///< author's peer-id multihash
  std::optional<Bytes> data;
  std::optional<Bytes> seqno;  ///< 8 bytes, big endian, under StrictSign
  std::string topic;
  std::optional<Bytes> signature;
  std::optional<Bytes> key;  ///< author's libp2p PublicKey protobuf
};

struct IHave {
  std::string topic;
  std::vector<Bytes> ids;
};
struct IWant {
  std::vector<Bytes> ids;
};
struct Graft {
  std::string topic;
};
struct PxPeer {
  Bytes peer_id;
  std::optional<Bytes> signed_peer_record;
};
struct Prune {
  std::string topic;
  std::vector<PxPeer> peers;
  std::optional<std::uint64_t> backoff;  ///< seconds
};
struct IDontWant {
  std::vector<Bytes> ids;
};

struct Control {
  std::vector<IHave> ihave;
  std::vector<IWant> iwant;
  std::vector<Graft> graft;
  std::vector<Prune> prune;
  std::vector<IDontWant> idontwant;
  bool empty() const { return ihave.empty() && iwant.empty() && graft.empty() && prune.empty() && idontwant.empty(); }
};

struct Rpc {
  std::vector<SubOpts> subscriptions;
  std::vector<Message> messages;
  Control control;
  bool empty() const { return subscriptions.empty() && messages.empty() && control.empty(); }
};

/// Caps applied while decoding (anything past them is a protocol error).
struct RpcLimits {
  std::size_t max_subscriptions = 1024;
  std::size_t max_messages = 1024;
  std::size_t max_control_entries = 1024;  ///< per control kind
  std::size_t max_ids = 5000;              ///< message ids in one IHAVE/IWANT/IDONTWANT, in total
  std::size_t max_px_peers = 16;
};

Bytes encode_message(const Message& m);
Bytes encode_rpc(const Rpc& rpc);
/// Fails on malformed protobuf, wrong wire types for known fields, or input over the limits.
Result<Rpc> decode_rpc(std::span<const std::uint8_t> data, const RpcLimits& limits = {});
Result<Message> decode_message(std::span<const std::uint8_t> data);

/// The StrictSign signing input: "libp2p-pubsub:" || protobuf(message without signature, key).
Bytes signing_bytes(const Message& m);

}  // namespace ciro::network::gossip
