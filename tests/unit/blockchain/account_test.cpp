// Cairo Serde, Account (INVOKE v3 build/sign/submit/receipt) and NonceManager against the fake.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>

#include "blockchain/chain_db.h"
#include "blockchain/hash.h"
#include "blockchain/nonce_manager.h"
#include "fakes/starknet/fake_starknet.h"
#include "fakes/starknet/run_coro.h"

using namespace ciro;
using namespace ciro::blockchain;
using ciro::fakes::FakeFault;
using ciro::fakes::run_coro;
namespace asio = boost::asio;

namespace {
const char* ADDR = "0x4a11ce";
const U256 KEY = *parse_hex_u256("0x139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79");

RpcOptions fast(const std::string& url) {
  RpcOptions o;
  o.urls = {url};
  o.timeout = std::chrono::milliseconds(400);
  o.backoff_base = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(50);
  return o;
}
std::filesystem::path temp_db(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("ciro_chain_" + name + "_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(p);
  std::filesystem::remove(p.string() + "-wal");
  std::filesystem::remove(p.string() + "-shm");
  return p;
}
Call sample_call(std::uint64_t v) {
  return {Felt::from_u64(0xc0de), get_selector_from_name("ping"), {Felt::from_u64(v)}};
}
Felt sepolia() { return *Felt::from_hex("0x534e5f5345504f4c4941"); }
}  // namespace

// Given Cairo values, when encoded and decoded, then they round-trip and follow Cairo Serde.
TEST(CairoSerde, RoundTripsU256ArraysEnumsByteArrays) {
  CairoU256 v = CairoU256::from_u256(*parse_hex_u256("0x1000000000000000000000000000000002"));
  EXPECT_EQ(v.low, 2);
  EXPECT_EQ(v.high, 0x10);
  FeltWriter w;
  w.u256(v)
      .felt_array(Felts{Felt::from_u64(7), Felt::from_u64(8)})
      .variant(3)
      .byte_array("hello, a string longer than thirty-one bytes!");
  Felts f = w.take();
  EXPECT_EQ(f[0], Felt::from_u64(2));
  EXPECT_EQ(f[1], Felt::from_u64(0x10));
  EXPECT_EQ(f[2], Felt::from_u64(2));
  FeltReader r(f);
  EXPECT_EQ(*r.u256("v"), v);
  EXPECT_EQ(r.felt_array("a")->size(), 2u);
  EXPECT_EQ(*r.variant("e", 4), 3u);
  EXPECT_EQ(*r.byte_array("s"), "hello, a string longer than thirty-one bytes!");
  EXPECT_TRUE(r.finish("all").ok());
  // "hello" = one pending word of 5 bytes (Cairo's ByteArray layout).
  Felts hello = encode_byte_array("hello");
  ASSERT_EQ(hello.size(), 3u);
  EXPECT_EQ(hello[1].to_hex(), "0x68656c6c6f");
  EXPECT_EQ(hello[2], Felt::from_u64(5));
  // Truncated and out-of-range input are errors.
  Felts bad = {Felt::from_u64(5), Felt::from_u64(1)};
  FeltReader br(bad);
  EXPECT_FALSE(br.felt_array("arr").ok());
  FeltReader vr(bad);
  EXPECT_FALSE(vr.variant("e", 2).ok());
  EXPECT_FALSE(decode_byte_array(Felts{Felt::from_u64(0), Felt::from_u64(0x4142), Felt::from_u64(1)}).ok());
}

// Given two calls, when __execute__ calldata is built, then it is [n, (to, selector, len, data)*].
TEST(Account, ExecuteCalldataIsCairo1ArrayOfCalls) {
  std::vector<Call> calls = {{Felt::from_u64(1), Felt::from_u64(2), {Felt::from_u64(3)}},
                             {Felt::from_u64(4), Felt::from_u64(5), {}}};
  Felts c = execute_calldata(calls);
  std::vector<std::string> hex = felts_to_hex(c);
  EXPECT_EQ(hex, (std::vector<std::string>{"0x2", "0x1", "0x2", "0x1", "0x3", "0x4", "0x5", "0x0"}));
}

// Given an account the fake knows (with its public key), when a call is sent and awaited, then
// the node verified the signature and the receipt is final and SUCCEEDED; bounds carry the margin.
TEST(Account, SignsSubmitsAndPollsToFinal) {
  fakes::FakeStarknet node;
  auto pk = get_public_key(KEY);
  ASSERT_TRUE(pk.ok());
  node.add_account(ADDR, 0, pk->to_hex());
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  Account acct(rpc, *Felt::from_hex(ADDR), KEY, sepolia());
  std::vector<Call> calls = {sample_call(1)};
  auto built = run_coro(io, acct.build(calls, Felt::from_u64(0)));
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  EXPECT_EQ(built->tx.l2_gas.max_amount, 0x75300u * 3 / 2);
  auto h = run_coro(io, rpc.add_invoke_transaction(built->json));
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(*h, built->hash);
  auto fin = run_coro(io, acct.wait_for_receipt(*h, std::chrono::milliseconds(10), std::chrono::seconds(5)));
  ASSERT_TRUE(fin.ok()) << fin.error().to_string();
  EXPECT_FALSE(fin->reverted);
  EXPECT_EQ(fin->finality_status, "ACCEPTED_ON_L2");
  // A tampered signature is refused by the fake (it checks ECDSA like an OZ account).
  auto again = run_coro(io, acct.build(calls, Felt::from_u64(1)));
  ASSERT_TRUE(again.ok());
  again->json["signature"][1] = "0x1234";
  auto refused = run_coro(io, rpc.add_invoke_transaction(again->json));
  EXPECT_EQ(refused.code(), rpc_code::VALIDATION_FAILURE);
}

// Given a reverting execution, when awaited, then the final receipt says REVERTED with the reason.
TEST(Account, RevertedReceiptCarriesTheReason) {
  fakes::FakeStarknet node;
  node.add_account(ADDR, 0, get_public_key(KEY)->to_hex());
  node.revert_next_invokes(1, "Only assigned worker can submit");
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  Account acct(rpc, *Felt::from_hex(ADDR), KEY, sepolia());
  auto db = storage::Database::open(temp_db("revert"), chain_migrations());
  ASSERT_TRUE(db.ok());
  NonceManager nm(io.get_executor(), rpc, acct, **db);
  std::vector<Call> calls = {sample_call(1)};
  auto h = run_coro(io, nm.execute(calls, "test"));
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  auto fin = run_coro(io, acct.wait_for_receipt(*h, std::chrono::milliseconds(10), std::chrono::seconds(5)));
  ASSERT_TRUE(fin.ok());
  EXPECT_TRUE(fin->reverted);
  EXPECT_EQ(fin->revert_reason, "Only assigned worker can submit");
}

// Given a nonce used by someone else between two sends, when the second is sent, then the manager
// resyncs and sends with the chain's nonce; no nonce carries two different transactions.
TEST(NonceManager, ResyncsWhenSomeoneElseUsedTheNonce) {
  fakes::FakeStarknet node;
  node.add_account(ADDR, 0, get_public_key(KEY)->to_hex());
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  Account acct(rpc, *Felt::from_hex(ADDR), KEY, sepolia());
  auto db = storage::Database::open(temp_db("bump"), chain_migrations());
  ASSERT_TRUE(db.ok());
  NonceManager nm(io.get_executor(), rpc, acct, **db);
  std::vector<Call> c1 = {sample_call(1)}, c2 = {sample_call(2)};
  ASSERT_TRUE(run_coro(io, nm.execute(c1, "one")).ok());
  node.bump_nonce(ADDR);  // nonce 1 used elsewhere
  auto h2 = run_coro(io, nm.execute(c2, "two"));
  ASSERT_TRUE(h2.ok()) << h2.error().to_string();
  auto inv = node.invokes();
  ASSERT_EQ(inv.size(), 2u);
  EXPECT_EQ(inv[0]["nonce"], "0x0");
  EXPECT_EQ(inv[1]["nonce"], "0x2");
  EXPECT_EQ(nm.cached_nonce(), 3u);
}

// Given the nonce is used by someone else between our estimate and our submission, when the
// submission gets INVALID_TRANSACTION_NONCE, then the manager resyncs, re-signs and retries once;
// the rejected attempt is recorded, not left open.
TEST(NonceManager, RetriesOnceOnInvalidNonceAtSubmission) {
  fakes::FakeStarknet node;
  node.add_account(ADDR, 0, get_public_key(KEY)->to_hex());
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  Account acct(rpc, *Felt::from_hex(ADDR), KEY, sepolia());
  auto db = storage::Database::open(temp_db("race"), chain_migrations());
  ASSERT_TRUE(db.ok());
  NonceManager nm(io.get_executor(), rpc, acct, **db);
  std::vector<Call> c = {sample_call(1)};
  ASSERT_TRUE(run_coro(io, nm.execute(c, "warm")).ok());
  node.bump_nonce_after_next_estimate(ADDR);
  auto h = run_coro(io, nm.execute(c, "raced"));
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(node.invokes().back()["nonce"], "0x2");
  EXPECT_EQ(node.requests("starknet_addInvokeTransaction"), 3);  // warm, rejected, retried
  auto rejected = (*db)->query("SELECT COUNT(*) FROM chain_pending_tx WHERE state = 'rejected'");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->at(0).integer(0), 1);
}

// Given concurrent sends, when both run, then they go out one at a time with distinct nonces.
TEST(NonceManager, SerialisesConcurrentSends) {
  fakes::FakeStarknet node;
  node.add_account(ADDR, 0, get_public_key(KEY)->to_hex());
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  Account acct(rpc, *Felt::from_hex(ADDR), KEY, sepolia());
  auto db = storage::Database::open(temp_db("concurrent"), chain_migrations());
  ASSERT_TRUE(db.ok());
  NonceManager nm(io.get_executor(), rpc, acct, **db);
  std::vector<std::optional<RpcResult<Felt>>> results(4);
  for (int i = 0; i < 4; ++i) {
    std::vector<Call> c = {sample_call(static_cast<std::uint64_t>(i))};
    asio::co_spawn(io, fakes::store_result(nm.execute(c, "c"), &results[i]), asio::detached);
  }
  io.run();
  for (auto& r : results) ASSERT_TRUE(r && r->ok());
  std::set<std::string> nonces;
  for (const auto& t : node.invokes()) nonces.insert(t["nonce"].get<std::string>());
  EXPECT_EQ(nonces.size(), 4u);
}

// Given a send whose reply was lost and a restart, when recover() runs, then the same signed
// transaction (same hash) is resent — no new transaction is signed for that nonce.
TEST(NonceManager, PersistsAndResendsAcrossRestart) {
  fakes::FakeStarknet node;
  node.add_account(ADDR, 0, get_public_key(KEY)->to_hex());
  const auto file = temp_db("restart");
  std::string stored_hash;
  {
    asio::io_context io;
    RpcOptions o = fast(node.url());
    o.max_attempts = 1;
    o.timeout = std::chrono::milliseconds(200);
    RpcClient rpc(io.get_executor(), o);
    Account acct(rpc, *Felt::from_hex(ADDR), KEY, sepolia());
    auto db = storage::Database::open(file, chain_migrations());
    ASSERT_TRUE(db.ok());
    NonceManager nm(io.get_executor(), rpc, acct, **db);
    node.inject({FakeFault::Kind::no_reply, 0, "starknet_addInvokeTransaction"}, 1);
    std::vector<Call> c = {sample_call(1)};
    auto h = run_coro(io, nm.execute(c, "lost"));
    ASSERT_FALSE(h.ok());
    auto open = nm.open_transactions();
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].state, "signed");
    stored_hash = open[0].hash.to_hex();
  }
  EXPECT_TRUE(node.invokes().empty());
  asio::io_context io;
  RpcClient rpc(io.get_executor(), fast(node.url()));
  Account acct(rpc, *Felt::from_hex(ADDR), KEY, sepolia());
  auto db = storage::Database::open(file, chain_migrations());
  ASSERT_TRUE(db.ok());
  NonceManager nm(io.get_executor(), rpc, acct, **db);
  auto rec = run_coro(io, nm.recover());
  ASSERT_TRUE(rec.ok()) << rec.error().to_string();
  ASSERT_EQ(node.invokes().size(), 1u);
  std::vector<Call> c = {sample_call(2)};
  auto h2 = run_coro(io, nm.execute(c, "next"));
  ASSERT_TRUE(h2.ok()) << h2.error().to_string();
  auto inv = node.invokes();
  ASSERT_EQ(inv.size(), 2u);
  EXPECT_EQ(inv[0]["nonce"], "0x0");
  EXPECT_EQ(inv[1]["nonce"], "0x1");
  auto open = nm.open_transactions();
  ASSERT_FALSE(open.empty());
  EXPECT_EQ(open.front().hash.to_hex(), stored_hash);
  EXPECT_EQ(open.front().state, "submitted");
}
