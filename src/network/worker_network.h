#pragma once
// WorkerNetwork: the worker's P2P face. Owns a Host (TCP + Noise + Yamux, identify, ping),
// GossipSub and Kademlia, and a small connection manager: bootstrap peers are dialed at start
// and redialed after a loss with exponential backoff and full jitter. It publishes the worker's
// announcement (StrictSign) on "ciro/workers/1" every announce_interval and hands job
// announcements from "ciro/jobs/1" to a callback.
// Everything runs on the one io_context thread of the executor given; call every method there.
// Lifecycle: construct → set callbacks → start() → use → co_await stop() → destroy.
// No Asio/Beast types here beyond the executor and awaitable.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "utils/identity.h"
#include "utils/result.h"

namespace ciro::network {

inline constexpr const char* WORKERS_TOPIC = "ciro/workers/1";
inline constexpr const char* JOBS_TOPIC = "ciro/jobs/1";

struct WorkerNetworkOptions {
  std::string listen_host = "0.0.0.0";                    ///< IPv4/IPv6 address to listen on
  std::uint16_t listen_port = 9000;                       ///< 0 = any free port
  std::vector<std::string> bootstrap_peers;               ///< multiaddrs with /p2p/<peer id>
  std::chrono::milliseconds announce_interval{30000};     ///< worker announcement period
  std::string kad_protocol = "/ipfs/kad/1.0.0";           ///< DHT protocol id
  std::chrono::milliseconds heartbeat_interval{1000};     ///< gossipsub heartbeat
  std::size_t max_connections = 300;                      ///< inbound + outbound
  std::size_t max_inbound_connections = 200;              ///< inbound (incl. handshakes in progress)
  std::size_t max_outbound_connections = 200;             ///< outbound (incl. dials in progress)
  double inbound_rate_per_ip = 10;                        ///< new inbound connections/s per IP; 0 = no limit
  double inbound_burst_per_ip = 20;                       ///< back-to-back inbound connections allowed per IP
  std::chrono::milliseconds handshake_timeout{10000};     ///< TCP connect + Noise + muxer
  std::chrono::milliseconds negotiation_timeout{10000};   ///< multistream-select on a new stream
  std::chrono::milliseconds reconnect_min{1000};          ///< first backoff before redialing a bootstrap peer
  std::chrono::milliseconds reconnect_max{60000};         ///< backoff cap
};

class WorkerNetwork {
 public:
  WorkerNetwork(boost::asio::any_io_executor executor, const utils::NodeKey& key, WorkerNetworkOptions options);
  ~WorkerNetwork();
  WorkerNetwork(const WorkerNetwork&) = delete;
  WorkerNetwork& operator=(const WorkerNetwork&) = delete;

  /// Listens, starts gossip and the DHT, and begins dialing bootstrap peers in the background.
  /// Fails when the listen address cannot be bound or a bootstrap address does not parse.
  Result<void> start();
  /// Stops announcing and redialing, then gossip, the DHT and the host (GoAway on every link).
  boost::asio::awaitable<void> stop();

  /// Bound listen addresses, each with /p2p/<our peer id>.
  std::vector<std::string> listen_addrs() const;
  std::string peer_id() const;

  struct PeerInfo {
    std::string peer_id;
    std::vector<std::string> addrs;
    std::vector<std::string> protocols;
    std::string agent;
    bool connected = false;
  };
  /// Every peer in the peer store (connected or not).
  std::vector<PeerInfo> peers() const;

  /// The announcement body (JSON), called at each announce_interval; an empty string skips one.
  void set_announcement(std::function<std::string()> make_json);
  /// Called for each job announcement received on "ciro/jobs/1": the author's peer id and the body.
  void on_job_announcement(std::function<void(const std::string& from, const std::string& json)> handler);
  /// Publishes on "ciro/jobs/1" (for a coordinator, and for tests). Fails when too large.
  Result<std::size_t> publish_job(const std::string& json);
  /// Addresses of a peer (peer store, else a DHT lookup).
  boost::asio::awaitable<Result<std::vector<std::string>>> find_peer(std::string peer_id);

  struct Stats {
    std::uint64_t peers = 0;  ///< connected peers
    std::uint64_t gossip_in = 0, gossip_out = 0, gossip_rejected = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
  };
  Stats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace ciro::network
