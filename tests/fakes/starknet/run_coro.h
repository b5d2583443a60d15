#pragma once
// run_coro(io, awaitable): runs one coroutine to completion on a test's io_context and returns
// its value (the value need not be default-constructible).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

namespace ciro::fakes {

template <class T>
boost::asio::awaitable<void> store_result(boost::asio::awaitable<T> aw, std::optional<T>* out) {
  out->emplace(co_await std::move(aw));
}

template <class T>
T run_coro(boost::asio::io_context& io, boost::asio::awaitable<T> aw) {
  std::optional<T> out;
  boost::asio::co_spawn(io, store_result(std::move(aw), &out), boost::asio::detached);
  io.restart();
  io.run();
  return std::move(*out);
}

inline void run_coro(boost::asio::io_context& io, boost::asio::awaitable<void> aw) {
  boost::asio::co_spawn(io, std::move(aw), boost::asio::detached);
  io.restart();
  io.run();
}

}  // namespace ciro::fakes
