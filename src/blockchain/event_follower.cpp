#include "blockchain/event_follower.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "utils/log.h"

namespace ciro::blockchain {

namespace asio = boost::asio;
using asio::awaitable;

struct EventFollower::Stop {
  bool stopped = false;
  asio::steady_timer* timer = nullptr;
};

EventFollower::EventFollower(RpcClient& rpc, storage::Database& db, FollowerOptions options, Handler handler)
    : m_rpc(rpc),
      m_db(db),
      m_options(std::move(options)),
      m_handler(std::move(handler)),
      m_stop(std::make_shared<Stop>()) {}

EventFollower::~EventFollower() = default;

Result<EventCursor> EventFollower::load_cursor() {
  CIRO_TRY(auto rows,
           m_db.query("SELECT block, tx_index, event_index FROM chain_event_cursor WHERE name = ?", {m_options.name}));
  if (rows.empty()) return EventCursor{m_options.start_block, -1, -1};
  return EventCursor{static_cast<std::uint64_t>(rows[0].integer(0)), rows[0].integer(1), rows[0].integer(2)};
}

Result<void> EventFollower::save_cursor(const EventCursor& c) {
  CIRO_TRY(auto n, m_db.exec("INSERT INTO chain_event_cursor (name, block, tx_index, event_index) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT(name) DO UPDATE SET block = excluded.block, tx_index = excluded.tx_index, "
                             "event_index = excluded.event_index",
                             {m_options.name, static_cast<std::int64_t>(c.block), c.tx_index, c.event_index}));
  (void)n;
  return {};
}

Result<void> EventFollower::save_checkpoint(std::uint64_t number, const Felt& hash) {
  CIRO_TRY(auto n, m_db.exec("INSERT OR REPLACE INTO chain_block_checkpoint (name, number, hash) VALUES (?, ?, ?)",
                             {m_options.name, static_cast<std::int64_t>(number), hash.to_hex()}));
  (void)n;
  return {};
}

EventCursor EventFollower::cursor() {
  auto c = load_cursor();
  return c ? *c : EventCursor{};
}

awaitable<Result<void>> EventFollower::check_reorg(EventCursor& c) {
  // Blocks wholly delivered lie below the cursor; the cursor's own block counts once some of its
  // events were delivered (it then has a checkpoint too, and a reorg may have replaced it).
  auto rows =
      m_db.query("SELECT number, hash FROM chain_block_checkpoint WHERE name = ? AND number <= ? ORDER BY number DESC",
                 {m_options.name, static_cast<std::int64_t>(c.block)});
  if (!rows) co_return rows.error();
  if (rows->empty()) co_return Result<void>{};
  bool first = true;
  for (const auto& row : *rows) {
    const std::uint64_t number = static_cast<std::uint64_t>(row.integer(0));
    const std::string stored = row.text(1);
    auto h = co_await m_rpc.block_hash(number);
    if (!h && h.code() != rpc_code::BLOCK_NOT_FOUND) co_return std::move(h).error().to_error();
    if (h && h->to_hex() == stored) {
      if (first) co_return Result<void>{};  // no reorg
      // Fork point found: deliver everything after it again.
      utils::logger("blockchain")
          ->warn("events '{}': reorg detected; rolling back from block {} to {}", m_options.name, c.block, number + 1);
      c = EventCursor{number + 1, -1, -1};
      auto tx = m_db.transaction([&]() -> Result<void> {
        CIRO_TRY(auto d, m_db.exec("DELETE FROM chain_block_checkpoint WHERE name = ? AND number > ?",
                                   {m_options.name, static_cast<std::int64_t>(number)}));
        (void)d;
        return save_cursor(c);
      });
      if (!tx) co_return tx;
      ++m_reorgs;
      co_return Result<void>{};
    }
    first = false;
  }
  // Deeper than every checkpoint: restart from the oldest one kept.
  const std::uint64_t oldest = static_cast<std::uint64_t>(rows->back().integer(0));
  utils::logger("blockchain")
      ->warn("events '{}': reorg deeper than {} checkpoints; redelivering from block {}", m_options.name, rows->size(),
             oldest);
  c = EventCursor{oldest, -1, -1};
  auto tx = m_db.transaction([&]() -> Result<void> {
    CIRO_TRY(auto d, m_db.exec("DELETE FROM chain_block_checkpoint WHERE name = ?", {m_options.name}));
    (void)d;
    return save_cursor(c);
  });
  ++m_reorgs;
  co_return tx;
}

awaitable<Result<std::size_t>> EventFollower::step() {
  CIRO_CO_TRY(EventCursor c, load_cursor());
  CIRO_CO_TRY_VOID(co_await check_reorg(c));
  CIRO_CO_TRY(std::uint64_t tip, (co_await m_rpc.block_number()).to_result());
  if (tip < m_options.confirmations) co_return std::size_t{0};
  const std::uint64_t safe = tip - m_options.confirmations;
  if (c.block > safe) co_return std::size_t{0};
  m_caught_up = true;
  const std::uint64_t to = std::min(safe, c.block + std::max<std::uint64_t>(1, m_options.max_blocks_per_step) - 1);
  m_caught_up = to == safe;
  CIRO_CO_TRY(Felt to_hash, (co_await m_rpc.block_hash(to)).to_result());

  EventFilter f;
  f.from_block = BlockId::at(c.block);
  f.to_block = BlockId::at(to);
  f.address = m_options.address;
  f.keys = m_options.keys;
  std::vector<EmittedEvent> events;
  std::optional<std::string> token;
  do {
    CIRO_CO_TRY(EventsChunk chunk, (co_await m_rpc.get_events(f, m_options.chunk_size, token)).to_result());
    for (auto& e : chunk.events) events.push_back(std::move(e));
    token = chunk.continuation_token;
  } while (token);
  // The range must not have changed under us (a reorg while paging): the last block's hash and
  // every event of that block must agree; otherwise retry next step.
  CIRO_CO_TRY(Felt after, (co_await m_rpc.block_hash(to)).to_result());
  if (after != to_hash) co_return std::size_t{0};
  for (const auto& e : events) {
    if (!e.block_number || *e.block_number < c.block || *e.block_number > to) {
      co_return make_error(Errc::protocol, "getEvents returned an event outside the requested blocks");
    }
    if (*e.block_number == to && e.block_hash && *e.block_hash != to_hash) co_return std::size_t{0};
  }
  std::stable_sort(events.begin(), events.end(), [](const EmittedEvent& a, const EmittedEvent& b) {
    return std::tie(*a.block_number, a.transaction_index, a.event_index) <
           std::tie(*b.block_number, b.transaction_index, b.event_index);
  });
  std::size_t delivered = 0;
  for (const auto& e : events) {
    const auto key =
        std::make_tuple(static_cast<std::int64_t>(*e.block_number), static_cast<std::int64_t>(e.transaction_index),
                        static_cast<std::int64_t>(e.event_index));
    if (*e.block_number == c.block &&
        key <= std::make_tuple(static_cast<std::int64_t>(c.block), c.tx_index, c.event_index))
      continue;
    auto handled = m_handler(e);
    if (!handled) co_return handled.error();
    c = EventCursor{*e.block_number, static_cast<std::int64_t>(e.transaction_index),
                    static_cast<std::int64_t>(e.event_index)};
    // Every block an event was delivered from gets a checkpoint, so that a later reorg rolls back
    // no further than the first block that really changed: unchanged blocks are not delivered twice.
    auto saved = m_db.transaction([&]() -> Result<void> {
      if (e.block_hash) CIRO_TRY_VOID(save_checkpoint(*e.block_number, *e.block_hash));
      return save_cursor(c);
    });
    if (!saved) co_return saved.error();
    ++delivered;
  }
  const EventCursor next{to + 1, -1, -1};
  auto tx = m_db.transaction([&]() -> Result<void> {
    CIRO_TRY_VOID(save_checkpoint(to, to_hash));
    CIRO_TRY(auto b,
             m_db.exec("DELETE FROM chain_block_checkpoint WHERE name = ? AND number NOT IN (SELECT number FROM "
                       "chain_block_checkpoint WHERE name = ? ORDER BY number DESC LIMIT ?)",
                       {m_options.name, m_options.name, static_cast<std::int64_t>(m_options.checkpoints_kept)}));
    (void)b;
    return save_cursor(next);
  });
  if (!tx) co_return tx.error();
  co_return delivered;
}

awaitable<void> EventFollower::run() {
  auto stop = m_stop;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  stop->timer = &timer;
  while (!stop->stopped) {
    auto r = co_await step();
    if (stop->stopped) break;
    if (!r) {
      m_last_error = r.error().to_string();
      utils::logger("blockchain")->warn("events '{}': {}", m_options.name, *m_last_error);
    } else {
      m_last_error.reset();
      if (!m_caught_up) continue;  // backfilling: next range at once
    }
    timer.expires_after(m_options.poll_interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  stop->timer = nullptr;
}

void EventFollower::stop() {
  m_stop->stopped = true;
  if (m_stop->timer != nullptr) m_stop->timer->cancel();
}

}  // namespace ciro::blockchain
