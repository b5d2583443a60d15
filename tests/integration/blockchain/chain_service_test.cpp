// ChainService end to end against the fake node: start (spec check, registration), heartbeats,
// JobAssigned → callback, submit_job_result through a 429 storm, a reorg, a nonce used by
// someone else, and a restart that neither repeats nor misses events.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <mutex>
#include <thread>

#include "blockchain/chain_service.h"
#include "blockchain/hash.h"
#include "blockchain/keystore.h"
#include "fakes/starknet/fake_starknet.h"
#include "fakes/starknet/run_coro.h"

using namespace ciro;
using namespace ciro::blockchain;
using ciro::fakes::FakeFault;
namespace asio = boost::asio;

namespace {
const char* ADDR = "0x5eed";
const char* JM = "0x10b";
const char* CDC = "0xcdc";
const U256 KEY = *parse_hex_u256("0x139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79");

struct Loop {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~Loop() {
    guard.reset();
    io.stop();
    thread.join();
  }
  template <class T>
  T await(asio::awaitable<T> aw) {
    std::optional<T> out;
    asio::co_spawn(io, fakes::store_result(std::move(aw), &out), asio::use_future).get();
    return std::move(*out);
  }
  void await(asio::awaitable<void> aw) { asio::co_spawn(io, std::move(aw), asio::use_future).get(); }
};

fakes::FakeEvent job_assigned(std::uint64_t job, const std::string& worker) {
  return {JM, {get_selector_from_name("JobAssigned").to_hex(), Felt::from_u64(job).to_hex(), "0x0", worker}, {}, ""};
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

std::string selector_of(const nlohmann::json& tx) { return tx["calldata"][2].get<std::string>(); }
}  // namespace

class ChainServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("ciro_chain_svc_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ASSERT_TRUE(keystore_write(dir / "key.json", KEY, "pw", ADDR, KdfLimits::interactive()).ok());
    ::setenv("CIRO_TEST_CHAIN_PW", "pw", 1);
    node.add_account(ADDR, 0, get_public_key(KEY)->to_hex());
    node.add_contract(JM);
    node.add_contract(CDC);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  ChainOptions options() {
    ChainOptions o;
    o.rpc_urls = {node.url()};
    o.network = "sepolia";
    o.account_address = ADDR;
    o.keystore_path = (dir / "key.json").string();
    o.password_env = "CIRO_TEST_CHAIN_PW";
    o.job_manager = JM;
    o.cdc_pool = CDC;
    o.confirmations = 1;
    o.poll_interval = std::chrono::milliseconds(20);
    o.db_file = dir / "chain.db";
    o.heartbeat_interval = std::chrono::milliseconds(100);
    o.start_block = 0;
    o.rpc_timeout = std::chrono::milliseconds(500);
    o.rpc_max_attempts = 8;
    o.backoff_base = std::chrono::milliseconds(5);
    o.backoff_max = std::chrono::milliseconds(40);
    return o;
  }
  std::filesystem::path dir;
  fakes::FakeStarknet node;
};

// Given a fresh worker, when the service runs through assignments, faults, a reorg and a restart,
// then registration happens once, heartbeats go out, each assignment reaches the callback once
// (again only for a reorged block), and results land despite 429s and a foreign nonce use.
TEST_F(ChainServiceTest, EndToEnd) {
  std::mutex mu;
  std::vector<std::uint64_t> jobs;
  auto record = [&](JobAssignedEvent e) {
    std::lock_guard l(mu);
    jobs.push_back(static_cast<std::uint64_t>(e.job_id.low));
  };
  auto seen = [&] {
    std::lock_guard l(mu);
    return jobs;
  };
  {
    Loop loop;
    ChainService svc(loop.io.get_executor(), options());
    svc.on_job_assigned(record);
    auto started = loop.await(svc.start());
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    auto inv = node.invokes();
    ASSERT_GE(inv.size(), 1u);
    EXPECT_EQ(selector_of(inv[0]), get_selector_from_name("register_worker").to_hex());
    EXPECT_TRUE(svc.status().registered);

    // Heartbeats.
    ASSERT_TRUE(wait_until([&] { return svc.status().heartbeats_sent >= 1; }));

    // Assignments: ours (job 7) and someone else's (job 6); one confirmation needed.
    node.mine_block({job_assigned(6, "0x999"), job_assigned(7, ADDR)});
    node.mine_block();
    ASSERT_TRUE(wait_until([&] { return seen().size() == 1; }));
    EXPECT_EQ(seen()[0], 7u);

    // Result through a 429 storm.
    node.inject({FakeFault::Kind::http_429, 0, ""}, 5);
    const Felt out_hash = poseidon_of_bytes("{\"manifest\":1}");
    auto tx = loop.await(svc.submit_job_result(Felt::from_u64(7), out_hash));
    ASSERT_TRUE(tx.ok()) << tx.error().to_string();
    auto last = node.invokes().back();
    EXPECT_EQ(selector_of(last), get_selector_from_name("submit_job_result").to_hex());
    // calldata: [1, to, sel, len, job.lo, job.hi, job.lo, job.hi, worker, hash, proof_len, gas.lo, gas.hi, time]
    EXPECT_EQ(last["calldata"][4], "0x7");
    EXPECT_EQ(last["calldata"][6], "0x7");
    EXPECT_EQ(last["calldata"][8], ADDR);
    EXPECT_EQ(last["calldata"][9], out_hash.to_hex());

    // A reorg replaces the block that assigned job 8 with one that assigns job 9.
    // Heartbeats keep mining blocks, so the reorg is anchored at job 8's block, not at the tip.
    const std::uint64_t block8 = node.mine_block({job_assigned(8, ADDR)});
    node.mine_block();
    ASSERT_TRUE(wait_until([&] { return seen().size() == 2; }));
    node.reorg_from(block8, {{job_assigned(9, ADDR)}});
    node.mine_block();
    ASSERT_TRUE(wait_until([&] { return seen().size() == 3; })) << seen().size();
    EXPECT_EQ(seen()[2], 9u);
    EXPECT_GE(svc.status().reorgs, 1u);

    // Someone else used the account's nonce.
    node.bump_nonce(ADDR);
    auto tx2 = loop.await(svc.submit_job_result(Felt::from_u64(9), out_hash));
    ASSERT_TRUE(tx2.ok()) << tx2.error().to_string();
    loop.await(svc.stop());
    EXPECT_EQ(svc.status().open_transactions, 0u);
  }
  const auto before = seen();
  const auto registrations = [&] {
    int n = 0;
    for (const auto& t : node.invokes()) n += selector_of(t) == get_selector_from_name("register_worker").to_hex();
    return n;
  };
  EXPECT_EQ(registrations(), 1);
  // Restart: a new assignment arrives while down; nothing delivered before is repeated.
  node.mine_block({job_assigned(10, ADDR)});
  node.mine_block();
  {
    Loop loop;
    ChainService svc(loop.io.get_executor(), options());
    svc.on_job_assigned(record);
    auto started = loop.await(svc.start());
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    ASSERT_TRUE(wait_until([&] { return seen().size() == before.size() + 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(seen().size(), before.size() + 1);
    EXPECT_EQ(seen().back(), 10u);
    loop.await(svc.stop());
  }
  EXPECT_EQ(registrations(), 1);
}

// Given a wrong keystore password or a node on another chain, when starting, then start fails
// with a clear error.
TEST_F(ChainServiceTest, StartFailsClearly) {
  Loop loop;
  ::setenv("CIRO_TEST_CHAIN_PW", "nope", 1);
  ChainService bad_pw(loop.io.get_executor(), options());
  auto r = loop.await(bad_pw.start());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::permission_denied);
  ::setenv("CIRO_TEST_CHAIN_PW", "pw", 1);
  auto o = options();
  o.network = "mainnet";
  ChainService wrong_chain(loop.io.get_executor(), o);
  auto w = loop.await(wrong_chain.start());
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("not mainnet"), std::string::npos) << w.error().message;
}

// Given bytes, when hashed, then the packing is 31-byte big-endian chunks plus the length.
TEST(PoseidonOfBytes, Packing) {
  const std::string s(40, 'a');
  std::array<std::uint8_t, 32> c1{}, c2{};
  std::fill(c1.begin() + 1, c1.end(), 'a');
  std::fill(c2.begin() + 23, c2.end(), 'a');
  std::vector<Felt> v = {*Felt::from_u256(from_be_bytes(c1)), *Felt::from_u256(from_be_bytes(c2)), Felt::from_u64(40)};
  EXPECT_EQ(poseidon_of_bytes(s), poseidon_hash_many(v));
  std::vector<Felt> empty = {Felt::from_u64(0)};
  EXPECT_EQ(poseidon_of_bytes(""), poseidon_hash_many(empty));
  EXPECT_NE(poseidon_of_bytes("ab"), poseidon_of_bytes(std::string("\0ab", 3)));
}
