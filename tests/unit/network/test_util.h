#pragma once
// Helpers for coroutine tests: run a Task<void> on an io_context with a bound on wall time.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "network/stream.h"
#include "utils/identity.h"

namespace ciro::network::test {

namespace asio = boost::asio;

/// Fails the current test (and returns from the coroutine) when cond is false.
#define CO_ASSERT(cond)                                  \
  do {                                                   \
    if (!(cond)) {                                       \
      ADD_FAILURE() << "CO_ASSERT failed: " #cond;       \
      co_return;                                         \
    }                                                    \
  } while (0)
#define CO_ASSERT_OK(res)                                                       \
  do {                                                                          \
    if (!(res)) {                                                               \
      ADD_FAILURE() << #res " failed: " << (res).error().to_string();           \
      co_return;                                                                \
    }                                                                           \
  } while (0)

inline void run_task(asio::io_context& io, Task<void> body, std::chrono::seconds limit = std::chrono::seconds(30)) {
  bool done = false;
  std::exception_ptr err;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    done = true;
    err = e;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(done) << "test body did not finish within " << limit.count() << " s";
  if (err) std::rethrow_exception(err);
  // Let remaining completions (closed sockets, finished tasks) run.
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
}

inline Task<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

/// A protocol list without a braced initializer (GCC 12 miscompiles those inside co_await).
template <typename... A>
std::vector<std::string> P(A... a) {
  return {std::string(a)...};
}

inline bool has(const std::vector<std::string>& v, const char* p) { return std::find(v.begin(), v.end(), p) != v.end(); }

inline utils::NodeKey key_from(std::uint8_t b) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(b);
  return utils::NodeKey::from_seed(seed);
}

}  // namespace ciro::network::test
