// C++ Host against a real js-libp2p 2.x peer (tests/interop/libp2p/peer.mjs): both dial
// directions, ping both ways, identify both ways. Needs `npm ci` in tests/interop/libp2p.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <filesystem>
#include <istream>

#include "network/detail/session.h"
#include "js_peer.h"
#include "network/host.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::vector<std::string> addrs_of(const json& j, const char* key) {
  std::vector<std::string> out;
  for (const auto& a : j[key]) out.push_back(a.get<std::string>());
  return out;
}

Task<void> check_js_identify_of_us(JsPeer* js, Host* host) {
  auto idj = co_await js->wait_for("identify", host->peer_id().to_string(), 10s);
  CO_ASSERT(idj.has_value());
  CO_ASSERT((*idj)["event"] == "identify");
  auto protos = addrs_of(*idj, "protocols");
  EXPECT_TRUE(has(protos, PING_PROTOCOL)) << idj->dump();
  EXPECT_TRUE(has(protos, IDENTIFY_PROTOCOL)) << idj->dump();
  EXPECT_TRUE(has(protos, "/ciro/test/1.0.0")) << idj->dump();
  auto addrs = addrs_of(*idj, "listenAddrs");
  EXPECT_TRUE(has(addrs, host->listen_addrs().at(0).to_string().c_str())) << idj->dump();
  EXPECT_EQ((*idj)["agentVersion"], "ciro/0.1.0");
}

Task<void> check_js_pinged_us(JsPeer* js, Host* host) {
  auto pj = co_await js->wait_for("ping", host->peer_id().to_string(), 10s);
  CO_ASSERT(pj.has_value());
  EXPECT_EQ((*pj)["event"], "ping") << pj->dump();
}

Task<void> check_we_identified(Host* host, PeerId js_peer, std::string js_addr) {
  std::optional<PeerInfo> info;
  for (int i = 0; i < 500; ++i) {
    info = host->peer_store().get(js_peer);
    if (info && !info->protocols.empty()) break;
    co_await sleep_for(10ms);
  }
  CO_ASSERT(info.has_value() && !info->protocols.empty());
  EXPECT_TRUE(has(info->protocols, PING_PROTOCOL));
  EXPECT_TRUE(has(info->protocols, IDENTIFY_PROTOCOL));
  EXPECT_TRUE(info->agent_version.find("js-libp2p") != std::string::npos) << info->agent_version;
  if (!js_addr.empty()) {
    bool found = false;
    for (const auto& a : info->addrs) found |= a.to_string() == js_addr;
    EXPECT_TRUE(found) << "js listen address " << js_addr << " not in identify";
  }
}

Task<void> noop_handler(Stream s) { (void)co_await s.close_write(); }

Task<void> cpp_dials_js(Host* host, JsPeer* js) {
  auto lj = co_await js->next(P("listening"), 15s);
  CO_ASSERT(lj.has_value());
  auto js_addr = Multiaddr::parse((*lj)["addrs"][0].get<std::string>());
  CO_ASSERT_OK(js_addr);
  auto js_peer = *js_addr->peer_id();
  auto conn = co_await host->dial(*js_addr);
  CO_ASSERT_OK(conn);
  // C++ → js ping
  auto rtt = co_await host->ping(js_peer);
  CO_ASSERT_OK(rtt);
  // C++ learns js by identify; js learns us and pings us
  co_await check_we_identified(host, js_peer, js_addr->without_peer().to_string());
  co_await check_js_identify_of_us(js, host);
  co_await check_js_pinged_us(js, host);
  co_await host->stop();
}

Task<void> js_dials_cpp(Host* host, JsPeer* js) {
  auto lj = co_await js->next(P("listening"), 15s);
  CO_ASSERT(lj.has_value());
  auto js_peer = PeerId::parse((*lj)["peer"].get<std::string>());
  CO_ASSERT_OK(js_peer);
  auto dj = co_await js->next(P("dialed", "dial_error"), 15s);
  CO_ASSERT(dj.has_value());
  CO_ASSERT((*dj)["event"] == "dialed");
  co_await check_js_pinged_us(js, host);
  co_await check_js_identify_of_us(js, host);
  co_await check_we_identified(host, *js_peer, "");
  auto rtt = co_await host->ping(*js_peer);  // over the inbound connection
  CO_ASSERT_OK(rtt);
  co_await host->stop();
}

}  // namespace

TEST(JsInterop, CppDialsJs) {
  // given a js-libp2p peer listening on loopback, when the C++ host dials it, then ping works both
  // ways and each side's identify lists the other's protocols and listen addresses
  ASSERT_TRUE(js_ready()) << "js-libp2p not installed: run npm ci in tests/interop/libp2p";
  asio::io_context io;
  Host host(io.get_executor(), utils::NodeKey::generate());
  host.set_handler("/ciro/test/1.0.0", noop_handler);
  ASSERT_TRUE(host.listen());
  JsPeer js(io.get_executor(), P("listen"));
  ASSERT_TRUE(js.started());
  run_task(io, cpp_dials_js(&host, &js), std::chrono::seconds(40));
}

TEST(JsInterop, JsDialsCpp) {
  // given a C++ host listening on loopback, when js-libp2p dials it, then ping works both ways and
  // each side's identify lists the other's protocols (and js sees our listen address)
  ASSERT_TRUE(js_ready()) << "js-libp2p not installed: run npm ci in tests/interop/libp2p";
  asio::io_context io;
  Host host(io.get_executor(), utils::NodeKey::generate());
  host.set_handler("/ciro/test/1.0.0", noop_handler);
  ASSERT_TRUE(host.listen());
  auto addr = host.listen_addrs().at(0).with_peer(host.peer_id()).to_string();
  JsPeer js(io.get_executor(), P("dial", addr.c_str()));
  ASSERT_TRUE(js.started());
  run_task(io, js_dials_cpp(&host, &js), std::chrono::seconds(40));
}
