// Whole-process throughput of the libp2p stack on loopback, with the two ceilings it can be
// compared against measured in the same run:
//   raw TCP        asio socket → socket, 256 KiB writes, reader discards
//   chacha         libsodium ChaCha20-Poly1305 IETF over 64 KiB blocks on one core (Noise's cipher)
//   /perf upload   C++ Host → C++ Host, TCP + Noise + Yamux, one stream
//   /perf download the same, server → client
// Each side runs its own io_context on its own thread.  Usage: ciro_p2p_perf [MiB per test]

#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "network/host.h"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace ciro;
using namespace ciro::network;

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

Task<void> perf_run(Host* client, Multiaddr server, std::uint64_t up, std::uint64_t down,
                    Result<std::chrono::nanoseconds>* out) {
  auto c = co_await client->dial(server);
  if (!c) {
    *out = c.error();
    co_return;
  }
  *out = co_await client->perf(*server.peer_id(), up, down);
}

Task<void> stop_host(Host* h) { co_await h->stop(); }

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  const std::uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 512;
  const std::uint64_t total = mib << 20;

  asio::io_context server_io, client_io;
  Host server(server_io.get_executor(), utils::NodeKey::generate());
  Host client(client_io.get_executor(), utils::NodeKey::generate());
  if (!server.listen()) return 1;
  auto addr = server.listen_addrs().at(0).with_peer(server.peer_id());
  auto guard = asio::make_work_guard(server_io);
  std::thread server_thread([&] { server_io.run(); });

  auto run_perf = [&](std::uint64_t up, std::uint64_t down) -> double {
    Result<std::chrono::nanoseconds> r = Error(Errc::internal, "not run");
    bool done = false;
    asio::co_spawn(client_io, perf_run(&client, addr, up, down, &r), [&](std::exception_ptr) { done = true; });
    // The connection loops keep the context busy: run until this task is done.
    while (!done) client_io.run_one();
    if (!r) {
      std::fprintf(stderr, "perf failed: %s\n", r.error().to_string().c_str());
      return 0;
    }
    return gbits(up + down, *r);
  };

  const double tcp_g = raw_tcp(total);
  const double chacha_g = chacha(total);
  // a warm-up round lets the Yamux windows grow to 16 MiB first
  (void)run_perf(64 << 20, 0);
  const double up_g = run_perf(total, 0);
  const double down_g = run_perf(0, total);

  std::printf("bytes per test          %llu MiB\n", static_cast<unsigned long long>(mib));
  std::printf("raw TCP loopback        %6.2f Gbit/s\n", tcp_g);
  std::printf("ChaCha20-Poly1305 1core %6.2f Gbit/s\n", chacha_g);
  std::printf("/perf upload   C++→C++  %6.2f Gbit/s  (%.0f%% of raw TCP, %.0f%% of ChaCha)\n", up_g,
              100 * up_g / tcp_g, 100 * up_g / chacha_g);
  std::printf("/perf download C++→C++  %6.2f Gbit/s  (%.0f%% of raw TCP, %.0f%% of ChaCha)\n", down_g,
              100 * down_g / tcp_g, 100 * down_g / chacha_g);

  bool stopped = false;
  asio::co_spawn(client_io, stop_host(&client), [&](std::exception_ptr) { stopped = true; });
  while (!stopped) client_io.run_one();
  auto f2 = asio::co_spawn(server_io, stop_host(&server), asio::use_future);
  f2.wait();
  guard.reset();
  server_thread.join();
  return 0;
}
