// RpcClient against the fake node: retries (429 storm, timeouts, 5xx), failover, error codes,
// malformed replies.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "blockchain/rpc_client.h"
#include "fakes/starknet/fake_starknet.h"
#include "fakes/starknet/run_coro.h"
#include "fakes/starknet/tls_front.h"

#include <filesystem>

using namespace ciro;
using namespace ciro::blockchain;
using ciro::fakes::FakeFault;
using ciro::fakes::run_coro;
namespace asio = boost::asio;

namespace {
RpcOptions fast(std::vector<std::string> urls) {
  RpcOptions o;
  o.urls = std::move(urls);
  o.timeout = std::chrono::milliseconds(400);
  o.max_attempts = 6;
  o.backoff_base = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(50);
  return o;
}
std::string dead_url() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();  // nothing listens there any more
  return "http://127.0.0.1:" + std::to_string(port) + "/rpc";
}
}  // namespace

// Given four 429s with Retry-After, when blockNumber is called, then it succeeds on the fifth
// attempt and the hook counted four http_429 and one ok.
TEST(RpcClient, RetriesThroughA429Storm) {
  fakes::FakeStarknet node;
  node.mine_block();
  node.inject({FakeFault::Kind::http_429, 1, ""}, 4);
  asio::io_context io;
  std::map<std::string, int> outcomes;
  RpcOptions o = fast({node.url()});
  o.on_call = [&](const std::string& m, const std::string& outcome) { outcomes[m + "/" + outcome]++; };
  RpcClient c(io.get_executor(), o);
  auto n = run_coro(io, c.block_number());
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(outcomes["starknet_blockNumber/http_429"], 4);
  EXPECT_EQ(outcomes["starknet_blockNumber/ok"], 1);
  EXPECT_EQ(node.requests("starknet_blockNumber"), 5);
}

// Given a node that does not answer once, when chainId is called with a short timeout, then the
// retry succeeds and the timeout was counted.
TEST(RpcClient, TimeoutThenSuccess) {
  fakes::FakeStarknet node;
  node.inject({FakeFault::Kind::no_reply, 0, "starknet_chainId"}, 1);
  asio::io_context io;
  int timeouts = 0;
  RpcOptions o = fast({node.url()});
  o.timeout = std::chrono::milliseconds(200);
  o.on_call = [&](const std::string&, const std::string& outcome) { timeouts += outcome == "timeout"; };
  RpcClient c(io.get_executor(), o);
  auto id = run_coro(io, c.chain_id());
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  EXPECT_EQ(id->to_hex(), "0x534e5f5345504f4c4941");
  EXPECT_EQ(timeouts, 1);
}

// Given a dead first URL, when a call is made, then it fails over to the second URL.
TEST(RpcClient, FailsOverToTheSecondUrl) {
  fakes::FakeStarknet node;
  asio::io_context io;
  RpcClient c(io.get_executor(), fast({dead_url(), node.url()}));
  auto v = run_coro(io, c.spec_version());
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(*v, "0.10.0");
  auto v2 = run_coro(io, c.check_spec_version());  // the answering URL is now preferred
  EXPECT_TRUE(v2.ok());
}

// Given node errors, when calls fail, then the spec code, name and message come back typed.
TEST(RpcClient, MapsErrorCodes) {
  fakes::FakeStarknet node;
  asio::io_context io;
  RpcClient c(io.get_executor(), fast({node.url()}));
  auto n = run_coro(io, c.get_nonce(Felt::from_u64(0x777), BlockId::latest()));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.code(), rpc_code::CONTRACT_NOT_FOUND);
  EXPECT_EQ(n.error().errc, Errc::not_found);
  EXPECT_EQ(n.error().message, "Contract not found");
  EXPECT_NE(n.error().to_string().find("CONTRACT_NOT_FOUND"), std::string::npos);
  auto r = run_coro(io, c.get_transaction_receipt(Felt::from_u64(0x1)));
  EXPECT_EQ(r.code(), rpc_code::TXN_HASH_NOT_FOUND);
  auto b = run_coro(io, c.block_hash(99));
  EXPECT_EQ(b.code(), rpc_code::BLOCK_NOT_FOUND);
  // Converts into a plain Result for callers that do not care about codes.
  Result<Felt> plain = std::move(b).to_result();
  EXPECT_FALSE(plain.ok());
}

// Given malformed replies, when calls are made, then each is a protocol error, not a crash.
TEST(RpcClient, MalformedRepliesAreErrors) {
  fakes::FakeStarknet node;
  asio::io_context io;
  RpcClient c(io.get_executor(), fast({node.url()}));
  for (std::string body :
       {"not json", "[]", R"({"jsonrpc":"2.0","id":1})", R"({"jsonrpc":"2.0","id":424242,"result":5})",
        R"({"jsonrpc":"2.0","id":1,"error":"boom"})"}) {
    node.next_raw_reply("starknet_blockNumber", body);
    auto n = run_coro(io, c.block_number());
    ASSERT_FALSE(n.ok()) << body;
    EXPECT_EQ(n.error().errc, Errc::protocol) << body;
  }
  node.next_raw_reply("starknet_getNonce", R"({"jsonrpc":"2.0","id":6,"result":"0xnothex"})");
  auto bad = run_coro(io, c.get_nonce(Felt::from_u64(1), BlockId::latest()));
  EXPECT_FALSE(bad.ok());
}

// Given a node that keeps answering 503, when the attempts run out, then the error says so.
TEST(RpcClient, GivesUpAfterMaxAttempts) {
  fakes::FakeStarknet node;
  node.inject({FakeFault::Kind::http_503, 0, ""}, 10);
  node.inject({FakeFault::Kind::rate_limit_code, 0, ""}, 0);
  asio::io_context io;
  RpcOptions o = fast({node.url()});
  o.max_attempts = 3;
  RpcClient c(io.get_executor(), o);
  auto n = run_coro(io, c.block_number());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().errc, Errc::unavailable);
  EXPECT_NE(n.error().message.find("gave up after 3"), std::string::npos) << n.error().message;
}

// Given provider rate-limit codes (-32011), when called, then they are retried like a 429.
TEST(RpcClient, RetriesProviderRateLimitCodes) {
  fakes::FakeStarknet node;
  node.inject({FakeFault::Kind::rate_limit_code, 0, ""}, 2);
  asio::io_context io;
  RpcClient c(io.get_executor(), fast({node.url()}));
  auto n = run_coro(io, c.block_number());
  EXPECT_TRUE(n.ok());
}

// Given an https URL pointing at a plain-HTTP port, when called, then the TLS handshake fails as
// an error value; a bad URL is an invalid_argument error.
TEST(RpcClient, TlsFailureAndBadUrlAreErrors) {
  fakes::FakeStarknet node;
  asio::io_context io;
  RpcOptions o = fast({"https://127.0.0.1:" + std::to_string(node.port()) + "/rpc"});
  o.max_attempts = 1;
  RpcClient c(io.get_executor(), o);
  auto n = run_coro(io, c.block_number());
  ASSERT_FALSE(n.ok());
  RpcClient bad(io.get_executor(), fast({"ftp://x"}));
  auto m = run_coro(io, bad.block_number());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().errc, Errc::invalid_argument);
}

namespace {
std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("ciro_tls_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}
}  // namespace

// Given the fake node behind a TLS relay whose self-signed certificate names 127.0.0.1, when the
// client trusts that certificate as its CA file and calls over https, then calls succeed through
// the TLS handshake (the relay counts it) and return the node's answers.
TEST(RpcClient, HttpsWithTrustedCertificateWorks) {
  fakes::FakeStarknet node;
  node.mine_block();
  node.mine_block();
  const auto dir = temp_dir("ok");
  fakes::TlsFront front(node.port(), dir, "IP:127.0.0.1,DNS:localhost");
  asio::io_context io;
  RpcOptions o = fast({"https://127.0.0.1:" + std::to_string(front.port()) + "/rpc"});
  o.ca_file = front.certificate().string();
  RpcClient c(io.get_executor(), o);
  auto n = run_coro(io, c.block_number());
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_EQ(*n, node.latest_block());
  auto id = run_coro(io, c.chain_id());
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  EXPECT_GE(front.handshakes(), 1);
  std::filesystem::remove_all(dir);
}

// Given the same relay, when the client does not trust the certificate, or the certificate names
// another host, then the call fails at the handshake with an error that says so and no JSON-RPC
// request reaches the node.
TEST(RpcClient, HttpsRefusesUntrustedOrMisnamedCertificates) {
  fakes::FakeStarknet node;
  const auto dir = temp_dir("bad");
  asio::io_context io;
  {
    fakes::TlsFront front(node.port(), dir, "IP:127.0.0.1");
    RpcOptions o = fast({"https://127.0.0.1:" + std::to_string(front.port()) + "/rpc"});
    o.max_attempts = 1;  // system store only: our self-signed certificate is unknown there
    RpcClient c(io.get_executor(), o);
    auto n = run_coro(io, c.block_number());
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.error().to_string().find("TLS handshake"), std::string::npos) << n.error().to_string();
    EXPECT_EQ(front.handshakes(), 0);
  }
  {
    fakes::TlsFront front(node.port(), dir, "DNS:rpc.example.org");
    RpcOptions o = fast({"https://127.0.0.1:" + std::to_string(front.port()) + "/rpc"});
    o.max_attempts = 1;
    o.ca_file = front.certificate().string();  // trusted, but issued for another name
    RpcClient c(io.get_executor(), o);
    auto n = run_coro(io, c.block_number());
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.error().to_string().find("TLS handshake"), std::string::npos) << n.error().to_string();
    EXPECT_EQ(front.handshakes(), 0);
  }
  EXPECT_TRUE(node.replies().empty());
  std::filesystem::remove_all(dir);
}

// Given events over several pages, when getEvents follows continuation tokens, then every event
// arrives once, in order.
TEST(RpcClient, GetEventsFollowsContinuationTokens) {
  fakes::FakeStarknet node;
  std::vector<fakes::FakeEvent> evs;
  for (int i = 0; i < 7; ++i) evs.push_back({"0xabc", {"0x1"}, {"0x" + std::to_string(i + 1)}, ""});
  node.mine_block(evs);
  node.mine_block({{"0xdef", {"0x1"}, {"0x99"}, ""}});
  asio::io_context io;
  RpcClient c(io.get_executor(), fast({node.url()}));
  EventFilter f;
  f.address = *Felt::from_hex("0xabc");
  std::optional<std::string> tok;
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto chunk = run_coro(io, c.get_events(f, 3, tok));
    ASSERT_TRUE(chunk.ok()) << chunk.error().to_string();
    for (const auto& e : chunk->events) seen.push_back(e.data.at(0).to_hex());
    tok = chunk->continuation_token;
    if (!tok) break;
  }
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen.front(), "0x1");
  EXPECT_EQ(seen.back(), "0x7");
}

// Given an endpoint whose path carries an API key and which refuses connections, when a call
// fails, then the error names the scheme and host but not the path.
TEST(RpcClient, ErrorsDoNotRepeatTheUrlPath) {
  asio::io_context io;
  RpcOptions o = fast({dead_url() + "/v2/SECRETKEY123"});
  o.max_attempts = 2;
  RpcClient c(io.get_executor(), o);
  auto n = run_coro(io, c.block_number());
  ASSERT_FALSE(n.ok());
  const std::string text = n.error().to_string();
  EXPECT_EQ(text.find("SECRETKEY123"), std::string::npos) << text;
  EXPECT_NE(text.find("http://127.0.0.1:"), std::string::npos) << text;
  // The same for a key in the query string with no path before it.
  RpcOptions q = fast({dead_url().substr(0, dead_url().rfind('/')) + "?apikey=SECRETQUERY456"});
  q.max_attempts = 1;
  RpcClient cq(io.get_executor(), q);
  auto nq = run_coro(io, cq.block_number());
  ASSERT_FALSE(nq.ok());
  EXPECT_EQ(nq.error().to_string().find("SECRETQUERY456"), std::string::npos) << nq.error().to_string();
}
