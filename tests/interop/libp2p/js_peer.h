#pragma once
// The js-libp2p peer process (peer.mjs) for interop tests: started with fork/exec in
// tests/interop/libp2p, stdout read as JSON event lines, commands written to stdin as JSON
// lines. Killed by its own pid (SIGKILL) when the object goes away; the script also exits when
// its stdin closes.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <filesystem>
#include <functional>
#include <istream>
#include <optional>

#include "network/detail/session.h"
#include "test_util.h"

namespace ciro::network::test {

using json = nlohmann::json;

const std::filesystem::path JS_DIR = std::filesystem::path(CIRO_SOURCE_DIR) / "tests/interop/libp2p";

/// The js peer process: stdout is read as JSON lines; stdin is held open (the script exits when
/// it closes). Killed by its own pid when this object goes away.
class JsPeer {
 public:
  JsPeer(asio::any_io_executor ex, std::vector<std::string> args) : m_out(ex) {
    int out_pipe[2], in_pipe[2];
    if (pipe(out_pipe) != 0 || pipe(in_pipe) != 0) return;
    m_pid = fork();
    if (m_pid == 0) {
      dup2(out_pipe[1], 1);
      dup2(in_pipe[0], 0);
      close(out_pipe[0]);
      close(in_pipe[1]);
      if (chdir(JS_DIR.c_str()) != 0) _exit(126);
      std::vector<char*> argv{const_cast<char*>("node"), const_cast<char*>("peer.mjs")};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("node", argv.data());
      _exit(127);
    }
    close(out_pipe[1]);
    close(in_pipe[0]);
    m_stdin = in_pipe[1];
    m_out.assign(out_pipe[0]);
  }
  ~JsPeer() {
    if (m_stdin >= 0) close(m_stdin);
    if (m_pid > 0) {
      kill(m_pid, SIGKILL);
      int st = 0;
      waitpid(m_pid, &st, 0);
    }
  }
  bool started() const { return m_pid > 0; }
  pid_t pid() const { return m_pid; }

  /// Sends one command line ({"cmd":...}) to the script's stdin.
  void send(const json& command) {
    auto line = command.dump() + "\n";
    if (m_stdin >= 0) (void)!::write(m_stdin, line.data(), line.size());
  }
  /// The first event (already read or arriving within `timeout`) matching pred; it is consumed.
  Task<std::optional<json>> take(std::function<bool(const json&)> pred, std::chrono::milliseconds timeout) {
    for (std::size_t i = m_consumed_scan; i < m_seen.size(); ++i)
      if (!m_taken[i] && pred(m_seen[i])) {
        m_taken[i] = true;
        co_return m_seen[i];
      }
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      auto j = co_await read_line(left);
      if (!j) co_return std::nullopt;
      if (pred(*j)) {
        m_taken.back() = true;
        co_return j;
      }
    }
    co_return std::nullopt;
  }
  /// Sends a command and takes the first event named `reply` (or one of `errors`).
  Task<std::optional<json>> call(json command, std::vector<std::string> replies, std::chrono::milliseconds timeout) {
    send(command);
    // (a capturing lambda temporary inside co_await is destroyed twice by GCC 12: name it first)
    std::function<bool(const json&)> pred = [replies](const json& j) {
      return std::find(replies.begin(), replies.end(), j["event"].get<std::string>()) != replies.end();
    };
    auto r = co_await take(pred, timeout);
    co_return r;
  }
  /// Every event seen so far named `event` (consumed or not).
  std::vector<json> seen(const std::string& event) const {
    std::vector<json> out;
    for (const auto& j : m_seen)
      if (j["event"] == event) out.push_back(j);
    return out;
  }

  /// The next JSON line whose "event" is one of `events`, within `timeout`.
  Task<std::optional<json>> next(std::vector<std::string> events, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) co_return std::nullopt;
      auto j = co_await read_line(left);
      if (!j) co_return std::nullopt;
      if (std::find(events.begin(), events.end(), (*j)["event"].get<std::string>()) != events.end()) co_return j;
    }
  }
  /// Waits for an event about `peer` matching `pred`, looking at already-seen lines first.
  Task<std::optional<json>> wait_for(std::string event, std::string peer, std::chrono::milliseconds timeout) {
    for (const auto& j : m_seen)
      if (j["event"] == event && j.value("peer", "") == peer) co_return j;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      auto j = co_await next(P(event.c_str(), "ping_error", "dial_error"), left);
      if (!j) co_return std::nullopt;
      if ((*j)["event"] == event && j->value("peer", "") == peer) co_return j;
      if ((*j)["event"] != event) co_return j;  // an error event: let the caller report it
    }
    co_return std::nullopt;
  }

 private:
  /// One JSON event line (recorded in m_seen), or nullopt on timeout/EOF.
  Task<std::optional<json>> read_line(std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    detail::Deadline d(ex, timeout, [this] { m_out.cancel(); });
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(m_out, m_buf, '\n', detail::use_tuple);
      if (ec) co_return std::nullopt;
      std::istream is(&m_buf);
      std::string line;
      std::getline(is, line);
      auto j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("event")) continue;
      m_seen.push_back(j);
      m_taken.push_back(false);
      co_return j;
    }
  }

  std::size_t m_consumed_scan = 0;
  std::vector<bool> m_taken;
  pid_t m_pid = -1;
  int m_stdin = -1;
  asio::posix::stream_descriptor m_out;
  asio::streambuf m_buf;
  std::vector<json> m_seen;
};

inline bool js_ready() { return std::filesystem::exists(JS_DIR / "node_modules" / "libp2p"); }


}  // namespace ciro::network::test
