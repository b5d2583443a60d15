#include "engine_proxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace ciro::test {

namespace {
int unix_socket(const std::string& path, bool listen_on) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (listen_on) {
    ::unlink(path.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
      ::close(fd);
      return -1;
    }
  } else if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

EngineProxy::EngineProxy(std::filesystem::path listen_path, std::string upstream_path)
    : m_path(std::move(listen_path)), m_upstream(std::move(upstream_path)) {
  m_listen = unix_socket(m_path.string(), true);
  m_thread = std::thread([this] { serve(); });
}

EngineProxy::~EngineProxy() {
  m_stop = true;
  if (m_listen >= 0) ::shutdown(m_listen, SHUT_RDWR);
  m_thread.join();
  for (auto& t : m_workers) t.join();
  if (m_listen >= 0) ::close(m_listen);
  ::unlink(m_path.c_str());
}

std::vector<std::string> EngineProxy::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

void EngineProxy::serve() {
  while (!m_stop) {
    pollfd p{m_listen, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    m_workers.emplace_back([this, client] { pump(client); });
  }
}

void EngineProxy::pump(int client) {
  int upstream = unix_socket(m_upstream, false);
  std::size_t index;
  {
    std::lock_guard lock(m_mutex);
    index = m_requests.size();
    m_requests.emplace_back();
  }
  char buf[65536];
  bool client_eof = false;
  while (upstream >= 0 && !m_stop) {
    pollfd fds[2] = {{client_eof ? -1 : client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (::poll(fds, 2, 100) <= 0) continue;
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0) {
        client_eof = true;  // the client may half-close after its request; keep relaying the reply
        ::shutdown(upstream, SHUT_WR);
      } else {
        {
          std::lock_guard lock(m_mutex);
          m_requests[index].append(buf, static_cast<std::size_t>(n));
        }
        if (::send(upstream, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::read(upstream, buf, sizeof buf);
      if (n <= 0) break;
      if (::send(client, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
    }
  }
  if (upstream >= 0) ::close(upstream);
  ::close(client);
}

}  // namespace ciro::test
