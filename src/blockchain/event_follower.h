#pragma once
// EventFollower: delivers a contract's events in chain order, once, across restarts and reorgs.
// Each step reads starknet_getEvents (paged by continuation token) over a bounded block range
// (backfill in chunks of max_blocks_per_step) that ends `confirmations` blocks below the tip,
// hands each event to the handler and, when the handler returns ok, persists the cursor
// (block, transaction_index, event_index) in chain_event_cursor: a restart neither misses nor
// repeats an acknowledged event (one event can repeat only if the process dies between the handler
// returning and the cursor write). After each range the hash of its last block is kept as a
// checkpoint; when a checkpoint's hash no longer matches the chain, the cursor rolls back to the
// newest checkpoint that still matches (the fork point) and those blocks are delivered again.
// Lives on the RpcClient's executor; run() is owned by its creator, which calls stop() and awaits
// run() on shutdown.

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "blockchain/rpc_client.h"
#include "storage/database.h"

namespace ciro::blockchain {

struct FollowerOptions {
  std::string name = "events";               ///< cursor name (one per subscription)
  std::optional<Felt> address;               ///< emitting contract
  std::vector<std::vector<Felt>> keys;       ///< getEvents key filter
  std::uint32_t confirmations = 2;           ///< deliver only blocks at least this deep
  std::uint64_t start_block = 0;             ///< where a new cursor starts
  std::uint64_t max_blocks_per_step = 1000;  ///< bounded backfill per step
  std::uint32_t chunk_size = 100;            ///< getEvents page size
  std::chrono::milliseconds poll_interval{5000};
  std::size_t checkpoints_kept = 128;
};

struct EventCursor {
  std::uint64_t block = 0;     ///< the block being delivered
  std::int64_t tx_index = -1;  ///< last acked event in `block`; -1 = none yet
  std::int64_t event_index = -1;
};

class EventFollower {
 public:
  /// The handler acknowledges an event by returning ok; an error stops the step (the event is
  /// delivered again next step).
  using Handler = std::function<Result<void>(const EmittedEvent&)>;
  EventFollower(RpcClient& rpc, storage::Database& db, FollowerOptions options, Handler handler);
  ~EventFollower();

  /// One step; returns the number of events delivered. Errors: RPC, DB or handler failures.
  boost::asio::awaitable<Result<std::size_t>> step();
  /// Steps every poll_interval until stop(); errors are logged and retried next interval.
  boost::asio::awaitable<void> run();
  void stop();

  EventCursor cursor();
  std::uint64_t reorgs() const { return m_reorgs; }
  std::optional<std::string> last_error() const { return m_last_error; }

 private:
  Result<EventCursor> load_cursor();
  Result<void> save_cursor(const EventCursor& c);
  /// The hash a block had when events were taken from it (checked for reorgs later).
  Result<void> save_checkpoint(std::uint64_t number, const Felt& hash);
  boost::asio::awaitable<Result<void>> check_reorg(EventCursor& c);

  RpcClient& m_rpc;
  storage::Database& m_db;
  FollowerOptions m_options;
  Handler m_handler;
  std::uint64_t m_reorgs = 0;
  bool m_caught_up = true;
  std::optional<std::string> m_last_error;
  struct Stop;
  std::shared_ptr<Stop> m_stop;
};

}  // namespace ciro::blockchain
