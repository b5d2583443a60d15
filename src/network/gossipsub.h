#pragma once
// Gossip: GossipSub v1.1 (/meshsub/1.1.0; also /meshsub/1.2.0 with IDONTWANT, and /meshsub/1.0.0)
// on top of a Host. Owns the per-topic meshes and fanout, the message cache (IHAVE/IWANT), the
// seen cache, PRUNE backoffs, peer scores, and one outbound stream per gossip peer. Messages are
// StrictSign: signed by the author with "libp2p-pubsub:" || protobuf(message), with js-libp2p's
// message id (author's PublicKey protobuf || 8-byte seqno).
// Lives on the Host's io_context thread; every method must be called there. Lifecycle:
// construct (before Host::listen, so identify lists the protocols) → start() → use →
// co_await stop() (before Host::stop) → destroy.

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "network/host.h"

namespace ciro::network {

inline constexpr const char* MESHSUB_V10 = "/meshsub/1.0.0";
inline constexpr const char* MESHSUB_V11 = "/meshsub/1.1.0";
inline constexpr const char* MESHSUB_V12 = "/meshsub/1.2.0";

struct GossipOptions {
  std::size_t d = 6;        ///< target mesh degree
  std::size_t d_lo = 4;     ///< below this the heartbeat grafts up to d
  std::size_t d_hi = 12;    ///< above this the heartbeat prunes down to d
  std::size_t d_lazy = 6;   ///< peers that get IHAVE gossip per topic per heartbeat
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds heartbeat_initial_delay{100};
  std::chrono::milliseconds fanout_ttl{60000};         ///< fanout of a topic we publish to but are not in
  std::size_t mcache_len = 5;                          ///< heartbeats a message stays answerable to IWANT
  std::size_t mcache_gossip = 3;                       ///< heartbeats whose ids go into IHAVE
  std::chrono::milliseconds seen_ttl{120000};          ///< duplicates within this time are dropped
  std::chrono::milliseconds prune_backoff{60000};      ///< no re-GRAFT after a PRUNE for this long
  std::chrono::milliseconds unsubscribe_backoff{10000};
  std::size_t max_message_size = 1024 * 1024;          ///< data bytes of one message, in and out
  std::size_t max_rpc_size = 4 * 1024 * 1024;          ///< one inbound RPC (js-libp2p's default)
  std::size_t max_send_queue = 16 * 1024 * 1024;       ///< bytes queued per peer before RPCs are dropped
  bool flood_publish = true;                           ///< own messages go to every topic peer above publish_threshold
  std::size_t idontwant_min_size = 512;                ///< IDONTWANT (1.2) for messages at least this large
  std::size_t max_idontwant_per_heartbeat = 512;
  std::size_t max_ihave_length = 5000;                 ///< ids in IHAVE/IWANT per peer per heartbeat
  std::size_t max_iwant_replies = 3;                   ///< times one message is sent to one peer on IWANT
  // Scoring (a subset of the v1.1 score: P2 first deliveries, P4 invalid messages, P7 behaviour).
  double first_delivery_weight = 1.0;
  double first_delivery_cap = 10.0;
  double invalid_message_weight = -10.0;   ///< times invalid² (P4)
  double behaviour_penalty_weight = -10.0;  ///< times penalty² (P7: GRAFT in backoff, RPCs while graylisted, bad RPCs)
  double score_decay = 0.9;                ///< per heartbeat, for every counter
  double gossip_threshold = -10.0;         ///< below: no IHAVE/IWANT with the peer
  double publish_threshold = -50.0;        ///< below: no flood-published messages to the peer
  double graylist_threshold = -80.0;       ///< below: the peer's RPCs are dropped unread
  double disconnect_threshold = -100.0;    ///< below: the peer is disconnected and banned
  std::chrono::milliseconds ban_duration{300000};  ///< how long a disconnected peer is refused
};

enum class Validation { accept, reject, ignore };

/// A message delivered to a subscriber (already signature-checked and validated).
struct GossipMessage {
  PeerId source;         ///< the author (signed)
  PeerId received_from;  ///< the peer that relayed it to us
  std::string topic;
  Bytes data;
  Bytes seqno;
  Bytes id;              ///< message id: PublicKey protobuf || seqno
};

using GossipHandler = std::function<void(const GossipMessage&)>;
/// Runs before delivery and forwarding: reject penalises the relaying peer, ignore drops silently.
using GossipValidator = std::function<Validation(const GossipMessage&)>;

struct GossipCounters {
  std::uint64_t messages_in = 0;        ///< accepted, first seen
  std::uint64_t messages_out = 0;       ///< published by us
  std::uint64_t messages_forwarded = 0; ///< message copies relayed to peers
  std::uint64_t messages_rejected = 0;  ///< bad signature, too large, rejected by a validator
  std::uint64_t messages_ignored = 0;   ///< unsubscribed topic, validator said ignore
  std::uint64_t duplicates = 0;
  std::uint64_t rpcs_dropped = 0;       ///< from graylisted peers, malformed, or over the send queue
  std::uint64_t bytes_in = 0;           ///< RPC bytes read
  std::uint64_t bytes_out = 0;          ///< RPC bytes written
};

class Gossip {
 public:
  Gossip(Host& host, GossipOptions options = {});
  ~Gossip();
  Gossip(const Gossip&) = delete;
  Gossip& operator=(const Gossip&) = delete;

  /// Registers the meshsub protocols on the host and starts the heartbeat.
  void start();
  /// Closes every gossip stream and awaits every task (bounded).
  Task<void> stop();

  /// Joins the topic (replacing the handler if already joined). Fails on an empty topic.
  Result<void> subscribe(std::string topic, GossipHandler handler);
  void unsubscribe(const std::string& topic);
  void set_validator(std::string topic, GossipValidator validator);
  /// Signs and sends a message. Returns how many peers it was sent to (0 is not an error: nobody
  /// subscribed yet). Fails (limit_exceeded) when data is over max_message_size, before anything
  /// is sent; fails (invalid_argument) on an empty topic.
  Result<std::size_t> publish(const std::string& topic, std::span<const std::uint8_t> data);

  std::vector<PeerId> mesh_peers(const std::string& topic) const;
  /// Connected peers that told us they subscribe to the topic.
  std::vector<PeerId> topic_peers(const std::string& topic) const;
  std::vector<std::string> topics() const;
  double score(const PeerId& peer) const;
  GossipCounters counters() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace ciro::network
