#pragma once
// Host: a libp2p node on one Asio io_context. Owns its TCP listeners, its connections (TCP +
// multistream-select + Noise XX + Yamux), the protocol handler registry and the peer store, and
// runs Identify (+ push), Ping and Perf. Every task it spawns is owned by it; stop() sends GoAway
// on every connection, closes everything and awaits those tasks. All methods must be called on
// the io_context's thread. Lifecycle: construct → listen() → use → co_await stop() → destroy.
// GossipSub, Kademlia and our request/response protocols plug in through set_handler().

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "network/multiaddr.h"
#include "network/peer_id.h"
#include "network/stream.h"
#include "utils/identity.h"
#include "utils/result.h"

namespace ciro::network {

inline constexpr const char* IDENTIFY_PROTOCOL = "/ipfs/id/1.0.0";
inline constexpr const char* IDENTIFY_PUSH_PROTOCOL = "/ipfs/id/push/1.0.0";
inline constexpr const char* PING_PROTOCOL = "/ipfs/ping/1.0.0";
inline constexpr const char* PERF_PROTOCOL = "/perf/1.0.0";

struct HostOptions {
  std::vector<std::string> listen_addrs{"/ip4/127.0.0.1/tcp/0"};  ///< multiaddrs to listen on (port 0 = any)
  std::string agent_version = "ciro/0.1.0";        ///< sent in identify
  std::string protocol_version = "ipfs/0.1.0";    ///< sent in identify
  std::size_t max_connections = 300;               ///< inbound + outbound; more are refused
  std::size_t max_inbound_connections = 200;       ///< inbound (incl. upgrades in progress); more are closed at accept
  std::size_t max_outbound_connections = 200;      ///< outbound (incl. dials in progress); more dials fail
  double inbound_rate_per_ip = 10;                 ///< new inbound connections per second per IP (token refill); 0 = no limit
  double inbound_burst_per_ip = 20;                ///< token bucket size: back-to-back connections allowed per IP
  std::size_t max_streams_per_connection = 256;    ///< per direction; more are reset
  std::uint32_t max_stream_window = 16 * 1024 * 1024;  ///< receive window may grow to this
  std::size_t max_send_queue = 4 * 1024 * 1024;    ///< bytes queued per connection before writers wait
  std::chrono::milliseconds handshake_timeout{10000};   ///< TCP connect + security + muxer upgrade
  std::chrono::milliseconds negotiation_timeout{10000}; ///< multistream-select on a new stream
  std::chrono::milliseconds identify_timeout{5000};
  std::chrono::milliseconds ping_timeout{10000};
  std::chrono::milliseconds keepalive_interval{30000};  ///< yamux ping on idle connections
  bool enable_perf = true;                          ///< serve /perf/1.0.0
};

/// What identify told us about a peer.
struct PeerInfo {
  std::vector<Multiaddr> addrs;
  std::vector<std::string> protocols;
  std::string agent_version;
  std::string protocol_version;
  std::optional<Multiaddr> observed_addr;  ///< how the peer sees us
};

/// Addresses and protocols per peer. Bounded: at most MAX_PEERS peers, MAX_ADDRS addresses and
/// MAX_PROTOCOLS protocols each.
class PeerStore {
 public:
  static constexpr std::size_t MAX_PEERS = 10000, MAX_ADDRS = 32, MAX_PROTOCOLS = 128;
  void add_addrs(const PeerId& peer, const std::vector<Multiaddr>& addrs);
  void update(const PeerId& peer, PeerInfo info);
  std::optional<PeerInfo> get(const PeerId& peer) const;
  std::vector<PeerId> peers() const;

 private:
  std::map<PeerId, PeerInfo> m_peers;
};

/// A live authenticated connection. A handle; operations fail once the connection closed.
class Connection {
 public:
  struct Impl;
  Connection() = default;
  explicit Connection(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}
  const PeerId& remote_peer() const;
  const Multiaddr& remote_addr() const;
  bool is_outbound() const;
  bool is_open() const;
  /// Opens a stream and negotiates the first protocol the peer accepts; fails if none.
  Task<Result<Stream>> new_stream(std::vector<std::string> protocols);
  /// Sends GoAway and closes.
  void close();

 private:
  std::shared_ptr<Impl> m_impl;
};

/// A protocol handler: gets each inbound stream of that protocol. It runs as a task owned by
/// the Host; parameters by value (write it as a member/free coroutine, not a capturing lambda).
using StreamHandler = std::function<Task<void>(Stream)>;

class Host {
 public:
  Host(boost::asio::any_io_executor executor, utils::NodeKey key, HostOptions options = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  /// Binds every listen address and starts accepting. Fails when an address cannot be bound.
  Result<void> listen();
  /// The bound addresses (ports resolved), without /p2p.
  std::vector<Multiaddr> listen_addrs() const;
  const PeerId& peer_id() const;
  const utils::NodeKey& node_key() const;
  boost::asio::any_io_executor executor() const;

  void set_handler(std::string protocol, StreamHandler handler);
  void remove_handler(const std::string& protocol);
  std::vector<std::string> protocols() const;

  /// Connects (or reuses a connection) to the address; a /p2p component is checked against the
  /// peer authenticated by Noise. Fails on connect, handshake, or peer-id mismatch.
  Task<Result<Connection>> dial(Multiaddr addr);
  /// Opens a stream to a peer, dialing a known address when not connected.
  Task<Result<Stream>> new_stream(PeerId peer, std::vector<std::string> protocols);
  /// One ping round trip; fails on timeout or a wrong echo.
  Task<Result<std::chrono::microseconds>> ping(PeerId peer);
  /// Runs identify against the peer now and updates the peer store.
  Task<Result<PeerInfo>> identify(PeerId peer);
  /// Sends identify push to every connected peer (after the protocols or addresses changed).
  void push_identify();
  /// /perf client: uploads `upload` bytes, downloads `download` bytes; returns the elapsed time.
  Task<Result<std::chrono::nanoseconds>> perf(PeerId peer, std::uint64_t upload, std::uint64_t download);

  /// Peer events, called on the io_context thread. `connected`: a first connection to the peer
  /// is up; `identified`: identify (or a push) from the peer was applied to the peer store;
  /// `disconnected`: the last connection to the peer closed. Callbacks must not block; they may
  /// spawn work. There is no removal: register them once, from objects that outlive the Host's
  /// io activity or hold weak references.
  using PeerEvent = std::function<void(const PeerId&)>;
  void on_peer_connected(PeerEvent callback);
  void on_peer_identified(PeerEvent callback);
  void on_peer_disconnected(PeerEvent callback);
  /// Closes every connection to the peer (GoAway first). Nothing happens when not connected.
  void disconnect(const PeerId& peer);
  /// Number of open connections (inbound + outbound) and upgrades in progress.
  std::size_t connection_count() const;
  /// The same split by direction.
  std::size_t inbound_count() const;
  std::size_t outbound_count() const;
  /// Inbound TCP connections closed at accept (per-IP rate or a connection limit), since start.
  std::uint64_t refused_inbound() const;

  PeerStore& peer_store();
  std::vector<Connection> connections(const PeerId& peer) const;
  std::vector<PeerId> connected_peers() const;

  /// Two-phase shutdown: GoAway + close every connection and listener, then await every task.
  Task<void> stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace ciro::network
