// The libp2p stack's figures in one run (loopback, one process plus js-libp2p peers):
//   raw TCP          asio socket → socket, 256 KiB writes, reader discards (the ceiling)
//   chacha           libsodium ChaCha20-Poly1305 IETF over 64 KiB blocks on one core (Noise's cipher)
//   /perf C++↔C++    C++ Host → C++ Host, TCP + Noise + Yamux, one stream, upload and download
//   /perf C++↔js     C++ client → js-libp2p server, and js client → C++ server
//   /perf js↔js      js-libp2p client → js-libp2p server (tests/interop/libp2p/peer.mjs)
//   gossip latency   p50/p99 publish → delivery in a 20-node C++ GossipSub mesh on one io_context
//   connections/s    sequential C++ → C++ dials (TCP + multistream + Noise XX + Yamux), closed after
// Each C++ side of a /perf run has its own io_context on its own thread. js peers are separate
// node processes, killed by their own pid. Without node (or its node_modules) the js rows are
// skipped. Usage: ciro_p2p_perf [MiB per C++ perf test = 512] [MiB per js perf test = 64]

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "network/gossipsub.h"
#include "network/host.h"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using namespace ciro;
using namespace ciro::network;
using namespace std::chrono_literals;

namespace {

double gbits(std::uint64_t bytes, Clock::duration d) {
  return double(bytes) * 8 / std::chrono::duration<double>(d).count() / 1e9;
}

double raw_tcp(std::uint64_t total) {
  asio::io_context server_io, client_io;
  tcp::acceptor acc(server_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket server(server_io), client(client_io);
  client.connect(acc.local_endpoint());
  acc.accept(server);
  std::thread reader([&] {
    std::vector<char> buf(256 * 1024);
    boost::system::error_code ec;
    while (!ec) server.read_some(asio::buffer(buf), ec);
  });
  std::vector<char> block(256 * 1024, 1);
  const auto start = Clock::now();
  for (std::uint64_t sent = 0; sent < total; sent += block.size()) asio::write(client, asio::buffer(block));
  client.shutdown(tcp::socket::shutdown_send);
  reader.join();
  return gbits(total, Clock::now() - start);
}

double chacha(std::uint64_t total) {
  std::vector<std::uint8_t> buf(64 * 1024 + 16, 3);
  std::uint8_t key[32] = {1}, nonce[12] = {};
  unsigned long long maclen = 0;
  const auto start = Clock::now();
  for (std::uint64_t done = 0; done < total; done += 64 * 1024) {
    nonce[4] = static_cast<std::uint8_t>(done >> 16);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf.data(), buf.data() + 64 * 1024, &maclen, buf.data(),
                                                       64 * 1024, nullptr, 0, nullptr, nonce, key);
  }
  return gbits(total, Clock::now() - start);
}

/// Runs a task on an io_context from this thread until it finishes (other work keeps running).
void run_until_done(asio::io_context& io, Task<void> task) {
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr) { done = true; });
  while (!done) io.run_one();
}

Task<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// ---------------------------------------------------------------- js peer process

/// node peer.mjs listen: JSON commands on stdin, JSON events on stdout. SIGKILLed by its own pid.
class JsPeer {
 public:
  JsPeer() {
    const std::filesystem::path dir = CIRO_P2P_JS_DIR;
    if (!std::filesystem::exists(dir / "node_modules")) return;
    int out_pipe[2], in_pipe[2];
    if (pipe(out_pipe) != 0) return;
    if (pipe(in_pipe) != 0) {
      close(out_pipe[0]);
      close(out_pipe[1]);
      return;
    }
    m_pid = fork();
    if (m_pid == 0) {
      dup2(out_pipe[1], 1);
      dup2(in_pipe[0], 0);
      close(out_pipe[0]);
      close(in_pipe[1]);
      if (chdir(dir.c_str()) != 0) _exit(126);
      execlp("node", "node", "peer.mjs", "listen", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out_pipe[1]);
    close(in_pipe[0]);
    m_out = out_pipe[0];
    m_in = in_pipe[1];
  }
  ~JsPeer() {
    if (m_in >= 0) close(m_in);
    if (m_out >= 0) close(m_out);
    if (m_pid > 0) {
      kill(m_pid, SIGKILL);
      int st = 0;
      waitpid(m_pid, &st, 0);
    }
  }
  JsPeer(const JsPeer&) = delete;
  JsPeer& operator=(const JsPeer&) = delete;

  bool started() const { return m_pid > 0; }
  void send(const json& cmd) {
    auto line = cmd.dump() + "\n";
    if (m_in >= 0) (void)!::write(m_in, line.data(), line.size());
  }
  /// The next event named one of `names` within `timeout` (others are skipped).
  std::optional<json> wait(std::vector<std::string> names, std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    for (;;) {
      auto nl = m_buf.find('\n');
      while (nl != std::string::npos) {
        auto j = json::parse(m_buf.substr(0, nl), nullptr, false);
        m_buf.erase(0, nl + 1);
        if (j.is_object() && j.contains("event") &&
            std::find(names.begin(), names.end(), j["event"].get<std::string>()) != names.end())
          return j;
        nl = m_buf.find('\n');
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0 || m_out < 0) return std::nullopt;
      pollfd p{m_out, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      auto n = ::read(m_out, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      m_buf.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  pid_t m_pid = -1;
  int m_in = -1, m_out = -1;
  std::string m_buf;
};

/// Starts a js peer that serves /perf; returns its dial address (with /p2p) or nullopt.
std::optional<std::string> start_js(JsPeer& js) {
  if (!js.started()) return std::nullopt;
  auto l = js.wait({"listening"}, 15s);
  if (!l || (*l)["addrs"].empty()) return std::nullopt;
  js.send({{"cmd", "perf_serve"}});
  if (!js.wait({"perf_serving"}, 5s)) return std::nullopt;
  return (*l)["addrs"][0].get<std::string>();
}

/// The js peer runs /perf against addr; Gbit/s or a negative value on failure.
double js_perf(JsPeer& js, const std::string& addr, std::uint64_t up, std::uint64_t down) {
  js.send({{"cmd", "perf"}, {"addr", addr}, {"upload", up}, {"download", down}});
  auto r = js.wait({"perf_done", "perf_error"}, 60s);
  if (!r || (*r)["event"] != "perf_done") {
    std::fprintf(stderr, "js perf failed: %s\n", r ? r->dump().c_str() : "no answer");
    return -1;
  }
  return double(up + down) * 8 / ((*r)["ms"].get<double>() / 1000) / 1e9;
}

// ---------------------------------------------------------------- C++ /perf client

Task<void> perf_run(Host* client, Multiaddr server, std::uint64_t up, std::uint64_t down,
                    Result<std::chrono::nanoseconds>* out) {
  auto c = co_await client->dial(server);
  if (!c) {
    *out = c.error();
    co_return;
  }
  *out = co_await client->perf(*server.peer_id(), up, down);
}

double cpp_perf(asio::io_context& io, Host& client, const Multiaddr& addr, std::uint64_t up, std::uint64_t down) {
  Result<std::chrono::nanoseconds> r = Error(Errc::internal, "not run");
  run_until_done(io, perf_run(&client, addr, up, down, &r));
  if (!r) {
    std::fprintf(stderr, "perf failed: %s\n", r.error().to_string().c_str());
    return -1;
  }
  return gbits(up + down, *r);
}

// ---------------------------------------------------------------- connections per second

Task<void> dial_loop(Host* client, Multiaddr server, std::chrono::milliseconds span, std::size_t* ok,
                     std::size_t* failed, Clock::duration* took) {
  const auto start = Clock::now();
  while (Clock::now() - start < span) {
    auto c = co_await client->dial(server);  // no /p2p: a new connection every time
    if (!c) {
      ++*failed;
      continue;
    }
    ++*ok;
    c->close();
  }
  *took = Clock::now() - start;
  co_await sleep_for(600ms);  // let the closes finish
}

// ---------------------------------------------------------------- gossip latency

struct GossipMesh {
  static constexpr std::size_t N = 20, MESSAGES = 200;
  asio::io_context io;
  std::vector<std::unique_ptr<Host>> hosts;
  std::vector<std::unique_ptr<Gossip>> gossips;
  std::vector<double> latencies_us;
};

void on_gossip(GossipMesh* m, const GossipMessage& msg) {
  if (msg.data.size() < 8) return;
  std::int64_t sent = 0;
  for (int i = 0; i < 8; ++i) sent = (sent << 8) | msg.data[i];
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  m->latencies_us.push_back(double(now - sent) / 1000);
}

Task<void> gossip_body(GossipMesh* m, bool* formed) {
  const std::string topic = "bench/1";
  for (std::size_t i = 0; i < GossipMesh::N; ++i) {
    GossipHandler h = [m](const GossipMessage& msg) { on_gossip(m, msg); };
    (void)m->gossips[i]->subscribe(topic, h);
  }
  // each node dials the next three: 6 links per node
  for (std::size_t i = 0; i < GossipMesh::N; ++i)
    for (std::size_t k = 1; k <= 3; ++k) {
      auto& peer = m->hosts[(i + k) % GossipMesh::N];
      auto addr = peer->listen_addrs().at(0).with_peer(peer->peer_id());
      (void)co_await m->hosts[i]->dial(addr);
    }
  // wait for every subscription, then a few heartbeats for the mesh
  for (int round = 0; round < 300; ++round) {
    bool all = true;
    for (std::size_t i = 0; i < GossipMesh::N && all; ++i)
      all = m->gossips[i]->topic_peers(topic).size() >= m->hosts[i]->connected_peers().size() &&
            !m->hosts[i]->connected_peers().empty();
    if (all) break;
    co_await sleep_for(10ms);
  }
  co_await sleep_for(500ms);
  std::size_t mesh_ok = 0;
  for (auto& g : m->gossips) mesh_ok += g->mesh_peers(topic).size() >= 2;
  *formed = mesh_ok == GossipMesh::N;
  for (std::size_t k = 0; k < GossipMesh::MESSAGES; ++k) {
    Bytes data(64, 0);
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    for (int i = 0; i < 8; ++i) data[i] = static_cast<std::uint8_t>(std::uint64_t(now) >> (56 - 8 * i));
    (void)m->gossips[k % GossipMesh::N]->publish(topic, data);
    co_await sleep_for(5ms);
  }
  const std::size_t expected = GossipMesh::MESSAGES * (GossipMesh::N - 1);
  for (int i = 0; i < 300 && m->latencies_us.size() < expected; ++i) co_await sleep_for(10ms);
  for (auto& g : m->gossips) co_await g->stop();
  for (auto& h : m->hosts) co_await h->stop();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * double(v.size())))];
}

Task<void> stop_host(Host* h) { co_await h->stop(); }

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  const std::uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 512;
  const std::uint64_t js_mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
  const std::uint64_t total = mib << 20, js_total = js_mib << 20;
  const auto bench_start = Clock::now();

  HostOptions server_opts;
  server_opts.inbound_rate_per_ip = 0;  // the connections/s run dials from one IP on purpose
  server_opts.max_inbound_connections = 1000;
  server_opts.max_connections = 1000;
  asio::io_context server_io, client_io;
  Host server(server_io.get_executor(), utils::NodeKey::generate(), server_opts);
  Host client(client_io.get_executor(), utils::NodeKey::generate());
  if (!server.listen()) return 1;
  const auto addr = server.listen_addrs().at(0).with_peer(server.peer_id());
  auto guard = asio::make_work_guard(server_io);
  std::thread server_thread([&] { server_io.run(); });

  // ceilings
  const double tcp_g = raw_tcp(total);
  const double chacha_g = chacha(total);
  // C++ ↔ C++ (a warm-up round lets the Yamux windows grow to 16 MiB first)
  (void)cpp_perf(client_io, client, addr, 64 << 20, 0);
  const double up_g = cpp_perf(client_io, client, addr, total, 0);
  const double down_g = cpp_perf(client_io, client, addr, 0, total);

  // js rows
  double cj_up = -1, cj_down = -1, jc_up = -1, jc_down = -1, jj_up = -1, jj_down = -1;
  {
    JsPeer js_a, js_b;
    auto a_addr = start_js(js_a);
    auto b_addr = start_js(js_b);
    if (a_addr && b_addr) {
      auto ma = Multiaddr::parse(*a_addr);
      if (ma) {
        (void)cpp_perf(client_io, client, *ma, 16 << 20, 16 << 20);  // warm-up
        cj_up = cpp_perf(client_io, client, *ma, js_total, 0);
        cj_down = cpp_perf(client_io, client, *ma, 0, js_total);
      }
      const auto cpp_addr = addr.to_string();
      (void)js_perf(js_b, cpp_addr, 16 << 20, 16 << 20);
      jc_up = js_perf(js_b, cpp_addr, js_total, 0);
      jc_down = js_perf(js_b, cpp_addr, 0, js_total);
      (void)js_perf(js_b, *a_addr, 16 << 20, 16 << 20);
      jj_up = js_perf(js_b, *a_addr, js_total, 0);
      jj_down = js_perf(js_b, *a_addr, 0, js_total);
    } else {
      std::fprintf(stderr,
                   "js peers did not start (node or tests/interop/libp2p/node_modules missing): js rows skipped\n");
    }
  }  // both js processes SIGKILLed by pid here

  // connections per second, C++ → C++ (plain address: a new connection each dial)
  std::size_t dial_ok = 0, dial_failed = 0;
  Clock::duration dial_took{};
  run_until_done(client_io,
                 dial_loop(&client, server.listen_addrs().at(0), 2000ms, &dial_ok, &dial_failed, &dial_took));
  const double conns_per_s = double(dial_ok) / std::chrono::duration<double>(dial_took).count();

  run_until_done(client_io, stop_host(&client));
  auto f2 = asio::co_spawn(server_io, stop_host(&server), asio::use_future);
  f2.wait();
  guard.reset();
  server_thread.join();

  // gossip latency in a 20-node mesh
  GossipMesh mesh;
  for (std::size_t i = 0; i < GossipMesh::N; ++i) {
    mesh.hosts.push_back(std::make_unique<Host>(mesh.io.get_executor(), utils::NodeKey::generate()));
    GossipOptions go;
    go.heartbeat_interval = 100ms;
    go.heartbeat_initial_delay = 50ms;
    mesh.gossips.push_back(std::make_unique<Gossip>(*mesh.hosts.back(), go));
    mesh.gossips.back()->start();
    if (!mesh.hosts.back()->listen()) return 1;
  }
  bool formed = false;
  run_until_done(mesh.io, gossip_body(&mesh, &formed));
  const std::size_t expected = GossipMesh::MESSAGES * (GossipMesh::N - 1);

  auto row = [](const char* name, double g, std::uint64_t m) {
    if (g < 0)
      std::printf("%-34s %8s\n", name, "n/a");
    else
      std::printf("%-34s %8.2f Gbit/s   (%llu MiB)\n", name, g, static_cast<unsigned long long>(m));
  };
  std::printf("raw TCP loopback                   %8.2f Gbit/s\n", tcp_g);
  std::printf("ChaCha20-Poly1305, 1 core          %8.2f Gbit/s\n", chacha_g);
  row("/perf upload    C++ -> C++", up_g, mib);
  row("/perf download  C++ <- C++", down_g, mib);
  row("/perf upload    C++ -> js", cj_up, js_mib);
  row("/perf download  C++ <- js", cj_down, js_mib);
  row("/perf upload    js  -> C++", jc_up, js_mib);
  row("/perf download  js  <- C++", jc_down, js_mib);
  row("/perf upload    js  -> js", jj_up, js_mib);
  row("/perf download  js  <- js", jj_down, js_mib);
  std::printf("C++ /perf vs raw TCP / ChaCha      %7.0f%% / %.0f%% (upload), %.0f%% / %.0f%% (download)\n",
              100 * up_g / tcp_g, 100 * up_g / chacha_g, 100 * down_g / tcp_g, 100 * down_g / chacha_g);
  std::printf("gossip latency, %zu nodes          p50 %.0f us, p99 %.0f us, max %.0f us  (%zu/%zu deliveries%s)\n",
              GossipMesh::N, percentile(mesh.latencies_us, 0.5), percentile(mesh.latencies_us, 0.99),
              percentile(mesh.latencies_us, 1.0), mesh.latencies_us.size(), expected,
              formed ? "" : ", mesh incomplete");
  std::printf("connections/s C++ -> C++           %8.0f   (%zu in %.1f s, %zu failed)\n", conns_per_s, dial_ok,
              std::chrono::duration<double>(dial_took).count(), dial_failed);

  const double cpp_min = std::min(up_g, down_g);
  std::printf("aim: C++<->C++ single stream >= 3.6 Gbit/s: %.2f -> %s\n", cpp_min, cpp_min >= 3.6 ? "met" : "NOT met");
  if (jj_up > 0 && jj_down > 0) {
    const double ratio = ((up_g + down_g) / 2) / ((jj_up + jj_down) / 2);
    std::printf("aim: C++<->C++ / js<->js >= 2x: %.1fx -> %s\n", ratio, ratio >= 2 ? "met" : "NOT met");
  } else {
    std::printf("aim: C++<->C++ / js<->js >= 2x: n/a (no js figures)\n");
  }
  std::printf("whole run                          %8.1f s\n",
              std::chrono::duration<double>(Clock::now() - bench_start).count());
  return 0;
}
