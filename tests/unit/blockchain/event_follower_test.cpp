// EventFollower against the fake node: chunked backfill, confirmations, reorg rollback, restart
// without repeats or gaps, handler failure retried.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <filesystem>

#include "blockchain/chain_db.h"
#include "blockchain/event_follower.h"
#include "fakes/starknet/fake_starknet.h"
#include "fakes/starknet/run_coro.h"

using namespace ciro;
using namespace ciro::blockchain;
using ciro::fakes::run_coro;
namespace asio = boost::asio;

namespace {
const char* C = "0xc0ffee";
fakes::FakeEvent ev(int n) { return {C, {"0x1"}, {"0x" + std::to_string(n)}, ""}; }
std::filesystem::path temp_db(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("ciro_follow_" + name + "_" + std::to_string(::getpid()) + ".db");
  for (auto s : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + s);
  return p;
}
RpcOptions fast(const std::string& url) {
  RpcOptions o;
  o.urls = {url};
  o.timeout = std::chrono::milliseconds(400);
  o.backoff_base = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(50);
  return o;
}
FollowerOptions opts() {
  FollowerOptions f;
  f.name = "t";
  f.address = *Felt::from_hex(C);
  f.confirmations = 1;
  f.max_blocks_per_step = 3;
  f.chunk_size = 2;
  return f;
}
std::vector<std::string> drain(asio::io_context& io, EventFollower& f, int steps = 20) {
  std::vector<std::string> out;
  for (int i = 0; i < steps; ++i) {
    auto r = run_coro(io, f.step());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
  }
  return out;
}
}  // namespace

// Given events in many blocks, when stepping with a small range and page size, then every
// confirmed event arrives once in order and the unconfirmed tip waits.
TEST(EventFollower, BackfillsInChunksAndWaitsForConfirmations) {
  fakes::FakeStarknet node;
  for (int b = 0; b < 8; ++b) node.mine_block({ev(b * 10 + 1), ev(b * 10 + 2), ev(b * 10 + 3)});
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  auto db = storage::Database::open(temp_db("backfill"), chain_migrations());
  ASSERT_TRUE(db.ok());
  std::vector<std::string> got;
  EventFollower f(rpc, **db, opts(), [&](const EmittedEvent& e) -> Result<void> {
    got.push_back(e.data[0].to_hex());
    return {};
  });
  drain(io, f, 6);
  ASSERT_EQ(got.size(), 7u * 3);  // block 8 (the tip) is not confirmed yet
  EXPECT_EQ(got.front(), "0x1");
  EXPECT_EQ(got.back(), "0x63");  // block 7 (b = 6): data "0x" + "63"
  node.mine_block();
  drain(io, f, 2);
  EXPECT_EQ(got.size(), 8u * 3);
}

// Given delivered events and a reorg that replaces their blocks, when stepping, then the follower
// rolls back to the fork point and delivers the new blocks' events.
TEST(EventFollower, RollsBackOnReorg) {
  fakes::FakeStarknet node;
  node.mine_block({ev(1)});
  node.mine_block({ev(2)});
  node.mine_block({ev(3)});
  node.mine_block();
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  auto db = storage::Database::open(temp_db("reorg"), chain_migrations());
  ASSERT_TRUE(db.ok());
  std::vector<std::string> got;
  auto o = opts();
  o.max_blocks_per_step = 1;  // a checkpoint per block
  EventFollower f(rpc, **db, o, [&](const EmittedEvent& e) -> Result<void> {
    got.push_back(e.data[0].to_hex());
    return {};
  });
  drain(io, f, 6);
  ASSERT_EQ(got, (std::vector<std::string>{"0x1", "0x2", "0x3"}));
  node.reorg(3, {{ev(22)}, {ev(33)}, {}});  // blocks 2..4 replaced
  node.mine_block();
  drain(io, f, 8);
  EXPECT_EQ(got, (std::vector<std::string>{"0x1", "0x2", "0x3", "0x22", "0x33"}));
  EXPECT_EQ(f.reorgs(), 1u);
}

// Given events delivered from blocks between two range checkpoints and a reorg of only the newest
// blocks, when stepping, then events of the unchanged blocks are not delivered a second time.
TEST(EventFollower, ShallowReorgDoesNotRepeatUnchangedBlocks) {
  fakes::FakeStarknet node;
  node.mine_block();  // 1
  node.mine_block();  // 2
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  auto db = storage::Database::open(temp_db("shallow"), chain_migrations());
  ASSERT_TRUE(db.ok());
  std::vector<std::string> got;
  auto o = opts();
  o.max_blocks_per_step = 10;
  EventFollower f(rpc, **db, o, [&](const EmittedEvent& e) -> Result<void> {
    got.push_back(e.data[0].to_hex());
    return {};
  });
  drain(io, f, 2);  // range 0..1: a checkpoint at block 1
  node.mine_block({ev(3)});  // 3
  node.mine_block({ev(4)});  // 4
  node.mine_block();         // 5
  node.mine_block();         // 6
  drain(io, f, 2);           // range 2..5: the range checkpoint sits at block 5
  ASSERT_EQ(got, (std::vector<std::string>{"0x3", "0x4"}));
  node.reorg(2, {{ev(55)}, {}});  // blocks 5 and 6 replaced; 3 and 4 unchanged
  node.mine_block();
  drain(io, f, 4);
  EXPECT_EQ(got, (std::vector<std::string>{"0x3", "0x4", "0x55"}));
  EXPECT_EQ(f.reorgs(), 1u);
}

// Given a block only partly delivered (the handler failed on its second event) and a reorg that
// replaces that block, when stepping, then every event of the new block is delivered: none is
// skipped as if already seen.
TEST(EventFollower, ReorgOfPartlyDeliveredBlockDeliversTheNewBlockWhole) {
  fakes::FakeStarknet node;
  const std::uint64_t b1 = node.mine_block({ev(1), ev(2)});
  node.mine_block();
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  auto db = storage::Database::open(temp_db("partial"), chain_migrations());
  ASSERT_TRUE(db.ok());
  std::vector<std::string> got;
  bool refuse_second = true;
  EventFollower f(rpc, **db, opts(), [&](const EmittedEvent& e) -> Result<void> {
    if (refuse_second && e.data[0].to_hex() == "0x2") return make_error(Errc::unavailable, "consumer busy");
    got.push_back(e.data[0].to_hex());
    return {};
  });
  auto r = run_coro(io, f.step());
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(f.cursor().block, b1);
  refuse_second = false;
  node.reorg_from(b1, {{ev(11), ev(12)}});
  node.mine_block();
  drain(io, f, 4);
  EXPECT_EQ(got, (std::vector<std::string>{"0x1", "0x11", "0x12"}));
  EXPECT_EQ(f.reorgs(), 1u);
}

// Given a handler that fails midway and a restart, when stepping again with a new follower on the
// same database, then nothing acked is repeated and nothing is missed.
TEST(EventFollower, RestartNeitherRepeatsNorMisses) {
  fakes::FakeStarknet node;
  node.mine_block({ev(1), ev(2), ev(3)});
  node.mine_block({ev(4)});
  node.mine_block();
  const auto file = temp_db("restart");
  std::vector<std::string> got;
  {
    asio::io_context io;
    RpcClient rpc(io.get_executor(), fast(node.url()));
    auto db = storage::Database::open(file, chain_migrations());
    ASSERT_TRUE(db.ok());
    EventFollower f(rpc, **db, opts(), [&](const EmittedEvent& e) -> Result<void> {
      if (e.data[0].to_hex() == "0x3") return make_error(Errc::unavailable, "consumer busy");
      got.push_back(e.data[0].to_hex());
      return {};
    });
    auto r = run_coro(io, f.step());
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(f.cursor().block, 1u);
    EXPECT_EQ(f.cursor().tx_index, 1);  // the fake gives each event its own transaction
  }
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  auto db = storage::Database::open(file, chain_migrations());
  ASSERT_TRUE(db.ok());
  EventFollower f(rpc, **db, opts(), [&](const EmittedEvent& e) -> Result<void> {
    got.push_back(e.data[0].to_hex());
    return {};
  });
  drain(io, f, 4);
  EXPECT_EQ(got, (std::vector<std::string>{"0x1", "0x2", "0x3", "0x4"}));
}
