#include "worker_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace ciro::test {

namespace fs = std::filesystem;

std::string engine_socket() {
  const char* s = std::getenv("CIRO_TEST_ENGINE_SOCKET");
  if (s == nullptr || *s == '\0') {
    ADD_FAILURE() << "CIRO_TEST_ENGINE_SOCKET is not set: run `scripts/engine.sh start` and "
                     "`export CIRO_TEST_ENGINE_SOCKET=$(scripts/engine.sh socket)` (make test does both)";
    return "/nonexistent.sock";
  }
  return s;
}

fs::path fresh_dir(const std::string& tag) {
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path d = fs::temp_directory_path() /
               ("ciro-ft-" + std::to_string(::getpid()) + "-" + tag + "-" + (info ? info->name() : "suite"));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

namespace {
// One node id per test folder (stable across restarts of the same data dir, distinct between
// tests so no test touches another's containers).
std::string node_id_for(const fs::path& data_dir) {
  std::string name = data_dir.parent_path().filename().string();
  if (name.rfind("ciro-ft-", 0) == 0) name = name.substr(8);
  return "ft-" + name.substr(0, 56);
}
}  // namespace

WorkerProcess::WorkerProcess(fs::path data_dir, std::vector<std::string> extra_args)
    : m_data_dir(fs::absolute(data_dir)), m_data_dir_arg(std::move(data_dir)), m_args(std::move(extra_args)) {}

WorkerProcess::~WorkerProcess() {
  if (m_pid > 0) kill9();
}

Result<void> WorkerProcess::start(std::chrono::seconds timeout) {
  fs::create_directories(m_data_dir);
  fs::remove(m_data_dir / "api.addr");
  std::vector<std::string> args = {CIRO_WORKER_BIN,
                                   "--config",
                                   std::string(CIRO_SOURCE_DIR) + "/config/development.toml",
                                   "--data-dir",
                                   m_data_dir_arg.string(),  // as given: a relative one is the worker's to resolve
                                   "--bind",
                                   "127.0.0.1:0",
                                   "--id",
                                   node_id_for(m_data_dir),
                                   "--set",
                                   "executor.engine_socket=\"" + engine_socket() + "\"",
                                   "--set",
                                   "node.shutdown_timeout=\"5s\""};
  args.insert(args.end(), m_args.begin(), m_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = (m_data_dir.parent_path() / (m_data_dir.filename().string() + ".log")).string();
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(&m_pid, CIRO_WORKER_BIN, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Error(Errc::io, "cannot start ciro-worker: " + std::string(std::strerror(rc)));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return Error(Errc::unavailable, "ciro-worker exited during start:\n" + log_text());
    std::ifstream addr(m_data_dir / "api.addr");
    std::string url;
    if (addr && std::getline(addr, url) && !url.empty()) {
      m_url = url;
      std::ifstream tok(m_data_dir / "api.token");
      std::getline(tok, m_token);
      auto r = get("/health/ready", false);
      if (r.ok() && r->status == 200) return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error(Errc::timeout, "ciro-worker did not become ready:\n" + log_text());
}

bool WorkerProcess::running() {
  if (m_pid <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(m_pid, &status, WNOHANG);
  if (r == m_pid) {
    m_pid = -1;
    m_exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int WorkerProcess::terminate(std::chrono::seconds timeout) {
  if (m_pid <= 0) return -1;
  ::kill(m_pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9();
  return -1;
}

void WorkerProcess::kill9() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGKILL);
  int status = 0;
  ::waitpid(m_pid, &status, 0);
  m_pid = -1;
}

std::string WorkerProcess::log_text() const {
  std::ifstream in(m_data_dir.parent_path() / (m_data_dir.filename().string() + ".log"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<api::ClientResponse> WorkerProcess::get(const std::string& target, bool auth) const {
  api::ClientRequest r;
  r.target = target;
  if (auth) r.headers["Authorization"] = "Bearer " + m_token;
  return api::http_request(m_url, r);
}

Result<api::ClientResponse> WorkerProcess::post(const std::string& target, const std::string& body, bool auth) const {
  api::ClientRequest r;
  r.method = "POST";
  r.target = target;
  r.body = body;
  r.headers["Content-Type"] = "application/json";
  if (auth) r.headers["Authorization"] = "Bearer " + m_token;
  return api::http_request(m_url, r);
}

Result<api::ClientResponse> WorkerProcess::del(const std::string& target) const {
  api::ClientRequest r;
  r.method = "DELETE";
  r.target = target;
  r.headers["Authorization"] = "Bearer " + m_token;
  return api::http_request(m_url, r);
}

std::string WorkerProcess::submit(const std::string& spec_json, int* status) const {
  auto r = post("/api/v1/jobs", spec_json);
  if (status) *status = r.ok() ? r->status : -1;
  if (!r.ok() || r->status != 201) return "";
  return nlohmann::json::parse(r->body).value("id", "");
}

std::string WorkerProcess::wait_job(const std::string& id, std::chrono::seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = get("/api/v1/jobs/" + id);
    if (r.ok() && r->status == 200) {
      auto j = nlohmann::json::parse(r->body);
      std::string s = j.value("state", "");
      if (s == "succeeded" || s == "failed" || s == "cancelled") return r->body;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

std::pair<int, std::string> run_command(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

void remove_engine_containers(const std::string& node_id) {
  for (const auto& id : engine_containers(node_id)) {
    run_command("curl -s --max-time 30 -X DELETE --unix-socket '" + engine_socket() + "' 'http://d/v1.41/containers/" +
                id + "?force=1&v=1'");
  }
}

std::string WorkerProcess::node_id() const { return node_id_for(m_data_dir); }

std::vector<std::string> engine_containers(const std::string& node_id) {
  std::string filter = "%7B%22label%22%3A%5B%22ciro.node%3D" + node_id + "%22%5D%7D";
  auto [rc, out] = run_command("curl -s --max-time 10 --unix-socket '" + engine_socket() +
                               "' 'http://d/v1.41/containers/json?all=1&filters=" + filter + "'");
  std::vector<std::string> ids;
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_array()) {
    ADD_FAILURE() << "engine did not answer the container list: " << out;
    return ids;
  }
  for (const auto& c : j) ids.push_back(c.value("Id", ""));
  return ids;
}

}  // namespace ciro::test
