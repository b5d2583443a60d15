#pragma once
// run_blocking: runs a blocking function (SQLite, file hashing, NVML) on the bounded pool and
// resumes the calling coroutine on its own executor with the result. The function must not touch
// objects owned by the network thread.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <type_traits>
#include <utility>

namespace ciro::node {

template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> run_blocking(boost::asio::thread_pool& pool, Fn fn) {
  using T = std::invoke_result_t<Fn>;
  // co_spawn keeps the lambda (and fn inside it) alive until it completes; the optional makes the
  // completion signature default-constructible whatever T is.
  std::optional<T> out = co_await boost::asio::co_spawn(
      pool.get_executor(),
      [f = std::move(fn)]() mutable -> boost::asio::awaitable<std::optional<T>> { co_return std::optional<T>(f()); },
      boost::asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace ciro::node
