#pragma once
// Kademlia (libp2p kad-dht wire protocol, peer routing only): the message codec, a k-bucket
// routing table over XOR distance of sha256(peer id bytes), a FIND_NODE/PING server (other
// request types are answered with closer peers and no record), and an iterative FIND_NODE client
// (alpha parallel requests) for bootstrap and find_peer.
// Kademlia lives on the Host's io_context thread; all methods must be called there. Lifecycle:
// construct (before Host::listen, so identify lists the protocol) → start() → use →
// co_await stop() (before Host::stop) → destroy.

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "network/host.h"

namespace ciro::network {

inline constexpr const char* KAD_PROTOCOL = "/ipfs/kad/1.0.0";

struct KadOptions {
  std::string protocol = KAD_PROTOCOL;                   ///< e.g. "/ciro/kad/1.0.0" for a private DHT
  std::size_t k = 20;                                    ///< bucket size and lookup width
  std::size_t alpha = 3;                                 ///< parallel requests in a lookup
  std::chrono::milliseconds request_timeout{5000};       ///< one request/response
  std::chrono::milliseconds lookup_timeout{20000};       ///< a whole iterative lookup
  std::size_t max_message_size = 64 * 1024;              ///< one kad message, in and out
  std::size_t max_requests_per_stream = 32;              ///< inbound requests served on one stream
};

namespace kad {

enum class MessageType : std::uint32_t { put_value = 0, get_value = 1, add_provider = 2, get_providers = 3, find_node = 4, ping = 5 };

struct Peer {
  Bytes id;                  ///< peer id multihash
  std::vector<Bytes> addrs;  ///< binary multiaddrs
  std::uint32_t connection = 0;
};

struct Message {
  std::uint32_t type = 0;
  Bytes key;
  std::optional<Bytes> record;  ///< kept raw: we store no records
  std::vector<Peer> closer_peers;
  std::vector<Peer> provider_peers;
  std::uint32_t cluster_level = 0;
};

Bytes encode(const Message& m);
/// Fails on malformed protobuf or more than 64 peers / 32 addresses per peer.
Result<Message> decode(std::span<const std::uint8_t> data);

using Key = std::array<std::uint8_t, 32>;
/// The keyspace position: sha256 of the bytes (peer id multihash or a DHT key).
Key key_of(std::span<const std::uint8_t> bytes);

/// k-buckets by the length of the common prefix of XOR distances to our own key. A full bucket
/// keeps its oldest entries (they are the ones most likely to stay up) and drops the newcomer.
class RoutingTable {
 public:
  RoutingTable(const PeerId& self, std::size_t k);
  /// True when the peer is (now) in the table.
  bool add(const PeerId& peer);
  void remove(const PeerId& peer);
  bool contains(const PeerId& peer) const;
  /// Up to n peers closest to key, nearest first.
  std::vector<PeerId> closest(const Key& key, std::size_t n) const;
  std::vector<PeerId> peers() const;
  std::size_t size() const;

 private:
  Key m_self;
  std::size_t m_k;
  std::vector<std::vector<PeerId>> m_buckets;
};

}  // namespace kad

class Kademlia {
 public:
  Kademlia(Host& host, KadOptions options = {});
  ~Kademlia();
  Kademlia(const Kademlia&) = delete;
  Kademlia& operator=(const Kademlia&) = delete;

  /// Registers the protocol handler and starts adding identified kad peers to the table.
  void start();
  Task<void> stop();

  /// Dials each address (with /p2p), adds the peers that answer, then looks up our own id to
  /// fill the table. Fails only when no bootstrap peer could be reached.
  Task<Result<std::size_t>> bootstrap(std::vector<Multiaddr> peers);
  /// The addresses of a peer: from the peer store when connected, else by an iterative lookup.
  /// Fails (not_found) when the lookup ends without finding it.
  Task<Result<std::vector<Multiaddr>>> find_peer(PeerId peer);
  /// One FIND_NODE request to `ask` for `key`; returns the closer peers it named.
  Task<Result<std::vector<kad::Peer>>> find_node(PeerId ask, Bytes key);
  /// Iterative lookup: the k closest peers to the key that answered.
  Task<Result<std::vector<PeerId>>> closest_peers(Bytes key);

  const kad::RoutingTable& routing_table() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace ciro::network
