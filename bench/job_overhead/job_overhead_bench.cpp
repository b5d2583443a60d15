// bench_job_overhead: what the worker adds on top of the container engine for a trivial job.
//
// Two paths run the same container lifecycle (create with every isolation flag, start, follow
// logs, wait, inspect, collect /output, remove) for a `true` container with the worker's default
// limits:
//   engine direct  DockerExecutor::run_and_remove() in this process (the reference);
//   worker API     POST /api/v1/jobs to a ciro-worker child process, then GET the job until it
//                  is terminal (submit-to-done latency, as a client sees it).
// The rounds alternate (engine, worker, worker, engine, ...) so that a drift in machine load
// lands on both paths. Prints jobs/s, p50 and p99 per path, the ratios against the engine and
// the worker's idle RSS. Exits non-zero only on errors, never on a ratio.
//
// Threads: the engine path runs on this thread's io_context; the worker path uses one blocking
// HTTP client thread per lane (--concurrency). The worker child is stopped (SIGTERM, then
// SIGKILL) and reaped on every exit path; PR_SET_PDEATHSIG covers this process being killed.

#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/http_client.h"
#include "compute/docker_executor.h"
#include "utils/result.h"

namespace {

namespace net = boost::asio;
namespace fs = std::filesystem;
using ciro::Errc;
using ciro::Error;
using ciro::Result;
using Clock = std::chrono::steady_clock;
using Wall = std::chrono::system_clock;

struct BenchOptions {
  int jobs = 30;                       ///< measured jobs per path (all rounds together)
  int concurrency = 1;                 ///< jobs in flight per path (and executor.max_concurrent_jobs)
  int rounds = 6;                      ///< alternations of the two paths (ABBA order)
  int warmup = 1;                      ///< unmeasured jobs per path before the first round
  int poll_ms = 20;                    ///< worker path: pause between GETs of a running job
  std::string completion = "poll";     ///< worker path: "poll" (GET the job) or "logs" (follow its logs first)
  fs::path worker = CIRO_WORKER_PATH;  ///< the ciro-worker binary
  fs::path socket;                     ///< the engine's Unix socket
  std::string image = "ciro/busybox:latest";
  bool keep_dir = false;               ///< keep the temporary folder (worker log, job folders)
};

/// One job's timings in milliseconds. start/run/after split the total at the container's own
/// start and exit times (engine clock, same host): before the process starts, while it runs,
/// and after it exits until the client saw the job done.
struct Sample {
  double total = 0, before = 0, run = 0, after = 0;
  double submit = 0;  ///< worker path: the POST round trip (spec checks, image check, durable insert)
  int gets = 0;       ///< worker path: GETs of the job until it was seen terminal
};

/// One round of one path: its samples, the wall time from the first submit to the last job
/// done, and (engine path) how long the io_context still had work after that.
struct RoundResult {
  std::vector<Sample> samples;
  double seconds = 0;
  double linger_seconds = 0;
};

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double ms_between(Wall::time_point a, Wall::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank: with 30 samples p99 is the largest.
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

template <typename F>
std::vector<double> field(const std::vector<Sample>& s, F f) {
  std::vector<double> out;
  out.reserve(s.size());
  for (const auto& x : s) out.push_back(f(x));
  return out;
}

/// "2024-05-01T12:34:56.789Z" → time point; nullopt when malformed.
std::optional<Wall::time_point> parse_rfc3339_ms(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return Wall::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string tail_lines(const std::string& text, int n) {
  std::size_t pos = text.size();
  while (n-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

// ---------------------------------------------------------------------------------------------
// Engine direct

class EnginePath {
 public:
  EnginePath(const BenchOptions& opt, fs::path dir)
      : m_opt(opt), m_dir(std::move(dir)), m_exec(m_io.get_executor(), ciro::compute::DockerOptions{opt.socket}),
        m_node("bench-engine-" + std::to_string(::getpid())) {}

  Result<void> check_image() {
    std::optional<Result<bool>> out;
    spawn_into(m_exec.image_exists(m_opt.image), &out);
    m_io.restart();
    m_io.run();
    if (!out->ok()) return Error(out->error().code, "engine at " + m_opt.socket.string() + ": " + out->error().message);
    if (!**out) return Error(Errc::not_found, m_opt.image + " is missing on the engine: run scripts/engine.sh ensure-image");
    return {};
  }

  /// Runs n jobs with opt.concurrency in flight; the samples, or the first failure. The round
  /// ends when the last job is done; io_context work left after that (helpers of the executor
  /// still pending) is reported as linger, not counted in jobs/s.
  Result<RoundResult> run(int n) {
    Round round;
    round.self = this;
    round.n = n;
    round.lanes = std::max(1, m_opt.concurrency);
    const auto t0 = Clock::now();
    for (int c = 0; c < round.lanes; ++c) {
      net::co_spawn(m_io, lane_then_done(&round), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    }
    m_io.restart();
    m_io.run();
    const auto t2 = Clock::now();
    if (round.error) return *round.error;
    RoundResult out;
    out.samples = std::move(round.samples);
    out.seconds = seconds_between(t0, round.done_at);
    out.linger_seconds = seconds_between(round.done_at, t2);
    return out;
  }

 private:
  struct Round {
    EnginePath* self = nullptr;
    int n = 0;
    int next = 0;
    std::vector<Sample> samples;
    std::optional<Error> error;
    int lanes = 0;                 ///< lanes still running
    Clock::time_point done_at{};   ///< when the last lane ended
  };

  template <typename T>
  static net::awaitable<void> into(net::awaitable<T> a, std::optional<T>* out) {
    out->emplace(co_await std::move(a));
  }
  template <typename T>
  void spawn_into(net::awaitable<T> a, std::optional<T>* out) {
    net::co_spawn(m_io, into(std::move(a), out), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }

  /// What JobService::container_spec builds for {"command":["true"]} with the default limits.
  ciro::compute::ContainerSpec spec() {
    ciro::compute::ContainerSpec s;
    s.job_id = "bench" + std::to_string(::getpid()) + "e" + std::to_string(m_seq++);
    s.node_id = m_node;
    s.image = m_opt.image;
    s.command = {"true"};
    s.memory_bytes = 512ull << 20;
    s.cpus = 1.0;
    s.pids_limit = 256;
    s.tmpfs_bytes = 64ull << 20;
    s.timeout = std::chrono::minutes(10);
    s.max_output_bytes = 256ull << 20;
    s.max_log_bytes = 16ull << 20;
    const fs::path job = m_dir / s.job_id;
    s.output_dir = job / "outputs";
    s.stdout_file = job / "stdout.log";
    s.stderr_file = job / "stderr.log";
    std::error_code ec;
    fs::create_directories(s.output_dir, ec);
    return s;
  }

  static net::awaitable<void> lane_then_done(Round* round) {
    co_await lane(round);
    if (--round->lanes == 0) round->done_at = Clock::now();
  }

  static net::awaitable<void> lane(Round* round) {
    while (!round->error && round->next < round->n) {
      ++round->next;
      ciro::compute::ContainerSpec s = round->self->spec();
      const std::string job_id = s.job_id;
      const auto w0 = Wall::now();
      const auto t0 = Clock::now();
      auto r = co_await round->self->m_exec.run_and_remove(std::move(s));
      const auto t1 = Clock::now();
      const auto w1 = Wall::now();
      if (!r.ok()) {
        round->error = Error(r.error().code, "engine job " + job_id + ": " + r.error().message);
        co_return;
      }
      if (r->reason != ciro::compute::EndReason::exited || r->exit_code != 0) {
        round->error = Error(Errc::engine, "engine job " + job_id + " ended " +
                                               ciro::compute::end_reason_name(r->reason) + " (exit " +
                                               std::to_string(r->exit_code) + "): " + r->detail);
        co_return;
      }
      Sample x;
      x.total = std::chrono::duration<double, std::milli>(t1 - t0).count();
      x.before = ms_between(w0, r->started_at);
      x.run = ms_between(r->started_at, r->finished_at);
      x.after = ms_between(r->finished_at, w1);
      round->samples.push_back(x);
    }
  }

  const BenchOptions& m_opt;
  fs::path m_dir;
  net::io_context m_io;
  ciro::compute::DockerExecutor m_exec;
  std::string m_node;
  int m_seq = 0;
};

// ---------------------------------------------------------------------------------------------
// Worker child process

/// Owns one ciro-worker child: started by start(), always stopped and reaped by stop() or the
/// destructor.
class WorkerProcess {
 public:
  WorkerProcess() = default;
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  ~WorkerProcess() { (void)stop(); }

  Result<void> start(const BenchOptions& opt, const fs::path& data_dir) {
    m_log = data_dir / "worker.log";
    m_data_dir = data_dir;
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) return Error(Errc::io, "cannot create " + data_dir.string() + ": " + ec.message());
    std::vector<std::string> args = {
        opt.worker.string(),
        "--data-dir", data_dir.string(),
        "--bind", "127.0.0.1:0",
        "--id", "bench-worker-" + std::to_string(::getpid()),
        "--log-level", "info",  // pinned so CIRO_LOG/RUST_LOG do not change what is measured
        "--set", "executor.engine_socket=\"" + opt.socket.string() + "\"",
        "--set", "executor.max_concurrent_jobs=" + std::to_string(std::max(1, opt.concurrency)),
        "--set", "gpu.enabled=false",  // a trivial CPU job; keeps NVML probing out of the figures
    };
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int log_fd = ::open(m_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) return Error(Errc::io, "cannot open " + m_log.string());
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(log_fd);
      if (null_fd >= 0) ::close(null_fd);
      return Error(Errc::internal, "fork failed");
    }
    if (pid == 0) {
      // Only async-signal-safe calls until execv.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      if (null_fd >= 0) ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    m_pid = pid;
    return {};
  }

  /// Waits for the bound address (DATA_DIR/api.addr, written atomically before the "HTTP API
  /// listening on ADDR" log line; the line is the fallback), the token and /health/ready.
  Result<void> wait_ready(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    const std::string marker = "HTTP API listening on ";
    while (m_base_url.empty()) {
      CIRO_TRY_VOID(check_alive());
      std::string addr = slurp(m_data_dir / "api.addr");
      while (!addr.empty() && (addr.back() == '\n' || addr.back() == '\r')) addr.pop_back();
      if (addr.rfind("http://", 0) == 0) {
        m_base_url = addr;
        break;
      }
      std::string log = slurp(m_log);
      auto at = log.find(marker);
      if (at != std::string::npos) {
        auto start = at + marker.size();
        auto end = log.find_first_of(" \n", start);
        if (end != std::string::npos) m_base_url = "http://" + log.substr(start, end - start);
      }
      if (m_base_url.empty()) {
        if (Clock::now() > deadline) return Error(Errc::timeout, "worker did not log its HTTP address in time" + log_tail());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    std::string token = slurp(m_data_dir / "api.token");
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    if (token.empty()) return Error(Errc::not_found, "no API token in " + (m_data_dir / "api.token").string());
    m_token = token;
    for (;;) {
      CIRO_TRY_VOID(check_alive());
      ciro::api::ClientRequest req;
      req.target = "/health/ready";
      req.timeout = std::chrono::seconds(5);
      auto r = ciro::api::http_request(m_base_url, req);
      if (r.ok() && r->status == 200) return {};
      if (Clock::now() > deadline) {
        return Error(Errc::timeout, "worker not ready in time: " +
                                        (r.ok() ? std::to_string(r->status) + " " + r->body : r.error().message) +
                                        log_tail());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  /// VmRSS of the child in KiB, or an error when /proc cannot tell.
  Result<long> rss_kib() const {
    std::ifstream f("/proc/" + std::to_string(m_pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    }
    return Error(Errc::not_found, "no VmRSS for pid " + std::to_string(m_pid));
  }

  /// SIGTERM, up to 25 s for a clean exit, then SIGKILL; reaps the child. Returns how it ended.
  std::string stop() {
    if (m_pid <= 0) return "";
    ::kill(m_pid, SIGTERM);
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(25);
    pid_t got = 0;
    while ((got = ::waitpid(m_pid, &status, WNOHANG)) == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string how;
    if (got == 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &status, 0);
      how = "killed (no exit within 25 s of SIGTERM)";
    } else if (got > 0 && WIFEXITED(status)) {
      how = "exit " + std::to_string(WEXITSTATUS(status));
    } else if (got > 0 && WIFSIGNALED(status)) {
      how = "signal " + std::to_string(WTERMSIG(status));
    }
    m_pid = -1;
    return how;
  }

  std::string log_tail() const { return "; worker log tail:\n" + tail_lines(slurp(m_log), 15); }
  const std::string& base_url() const { return m_base_url; }
  const std::string& token() const { return m_token; }
  const fs::path& log_file() const { return m_log; }

 private:
  Result<void> check_alive() {
    int status = 0;
    if (m_pid > 0 && ::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return Error(Errc::unavailable, "worker exited during start-up (status " + std::to_string(status) + ")" + log_tail());
    }
    return {};
  }

  pid_t m_pid = -1;
  fs::path m_data_dir;
  fs::path m_log;
  std::string m_base_url;
  std::string m_token;
};

// ---------------------------------------------------------------------------------------------
// Worker API path

class WorkerPath {
 public:
  WorkerPath(const BenchOptions& opt, const WorkerProcess& worker) : m_opt(opt), m_worker(worker) {
    m_body = nlohmann::json{{"api_version", "ciro/v1"}, {"image", opt.image}, {"command", {"true"}}}.dump();
  }

  /// Runs n jobs from opt.concurrency client threads; the samples, or the first failure.
  Result<RoundResult> run(int n) {
    const auto t0 = Clock::now();
    std::atomic<int> next{0};
    std::mutex mu;
    std::vector<Sample> samples;
    std::optional<Error> error;
    std::atomic<bool> failed{false};
    auto lane = [&] {
      while (!failed && next.fetch_add(1) < n) {
        auto s = one_job();
        std::lock_guard lock(mu);
        if (!s.ok()) {
          if (!error) error = s.error();
          failed = true;
          return;
        }
        samples.push_back(*s);
      }
    };
    std::vector<std::thread> threads;
    for (int c = 1; c < std::max(1, m_opt.concurrency); ++c) threads.emplace_back(lane);
    lane();
    for (auto& t : threads) t.join();
    if (error) return *error;
    RoundResult out;
    out.samples = std::move(samples);
    out.seconds = seconds_between(t0, Clock::now());
    return out;
  }

 private:
  ciro::api::ClientRequest request(std::string method, std::string target) const {
    ciro::api::ClientRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers["Authorization"] = "Bearer " + m_worker.token();
    r.timeout = std::chrono::seconds(30);
    return r;
  }

  /// Submit, then wait until the job is terminal; its timings or why it failed.
  Result<Sample> one_job() const {
    auto post = request("POST", "/api/v1/jobs");
    post.body = m_body;
    post.headers["Content-Type"] = "application/json";
    const auto w0 = Wall::now();
    const auto t0 = Clock::now();
    auto submitted = ciro::api::http_request(m_worker.base_url(), post);
    const double submit_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!submitted.ok()) return Error(submitted.error().code, "POST /api/v1/jobs: " + submitted.error().message);
    if (submitted->status != 201) {
      return Error(Errc::protocol, "POST /api/v1/jobs: " + std::to_string(submitted->status) + " " + submitted->body);
    }
    auto created = nlohmann::json::parse(submitted->body, nullptr, false);
    if (!created.is_object() || !created.contains("id") || !created["id"].is_string()) {
      return Error(Errc::protocol, "POST /api/v1/jobs: no id in " + submitted->body);
    }
    const std::string id = created["id"].get<std::string>();

    if (m_opt.completion == "logs") {
      // The log stream ends when the job stops being active; a GET then confirms the state.
      auto follow = request("GET", "/api/v1/jobs/" + id + "/logs?follow=true");
      follow.on_chunk = [](const std::string&) { return true; };
      auto r = ciro::api::http_request(m_worker.base_url(), follow);
      if (!r.ok()) return Error(r.error().code, "GET logs of job " + id + ": " + r.error().message);
    }
    const auto deadline = Clock::now() + std::chrono::minutes(2);
    nlohmann::json job;
    int gets = 0;
    for (;;) {
      ++gets;
      auto got = ciro::api::http_request(m_worker.base_url(), request("GET", "/api/v1/jobs/" + id));
      if (!got.ok()) return Error(got.error().code, "GET job " + id + ": " + got.error().message);
      if (got->status != 200) return Error(Errc::protocol, "GET job " + id + ": " + std::to_string(got->status) + " " + got->body);
      job = nlohmann::json::parse(got->body, nullptr, false);
      const std::string state = job.is_object() ? job.value("state", "") : "";
      if (state == "succeeded" || state == "failed" || state == "cancelled") break;
      if (state != "queued" && state != "running") return Error(Errc::protocol, "job " + id + ": unexpected reply " + got->body);
      if (Clock::now() > deadline) return Error(Errc::timeout, "job " + id + " not done after 2 minutes (state " + state + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(m_opt.poll_ms));
    }
    const auto t1 = Clock::now();
    const auto w1 = Wall::now();
    if (job.value("state", "") != "succeeded") return Error(Errc::engine, "worker job " + id + " did not succeed: " + job.dump());
    Sample x;
    x.total = std::chrono::duration<double, std::milli>(t1 - t0).count();
    x.submit = submit_ms;
    x.gets = gets;
    auto started = parse_rfc3339_ms(job.value("started_at", ""));
    auto finished = parse_rfc3339_ms(job.value("finished_at", ""));
    if (started && finished) {
      x.before = ms_between(w0, *started);
      x.run = ms_between(*started, *finished);
      x.after = ms_between(*finished, w1);
    }
    return x;
  }

  const BenchOptions& m_opt;
  const WorkerProcess& m_worker;
  std::string m_body;
};

// ---------------------------------------------------------------------------------------------

Result<fs::path> default_socket() {
  if (const char* env = std::getenv("CIRO_TEST_ENGINE_SOCKET"); env != nullptr && *env != '\0') return fs::path(env);
  const std::string cmd = std::string("'") + CIRO_SOURCE_DIR + "/scripts/engine.sh' socket 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return Error(Errc::not_found, "cannot run scripts/engine.sh socket");
  char buf[4096];
  std::string out;
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (out.empty()) return Error(Errc::not_found, "scripts/engine.sh socket printed nothing; pass --socket");
  return fs::path(out);
}

struct PathStats {
  std::vector<Sample> samples;
  double seconds = 0;  ///< wall time of the measured rounds (first submit to last done)
  double linger = 0;   ///< engine path: seconds the io_context stayed busy after the last job
  std::vector<double> round_p50;

  double jobs_per_s() const { return seconds > 0 ? static_cast<double>(samples.size()) / seconds : 0; }
  double p(double q, double Sample::*m) const { return percentile(field(samples, [m](const Sample& s) { return s.*m; }), q); }
};

template <typename F>
Result<void> timed_round(PathStats& stats, int n, F&& run) {
  auto r = run(n);
  if (!r.ok()) return r.error();
  stats.seconds += r->seconds;
  stats.linger += r->linger_seconds;
  stats.round_p50.push_back(percentile(field(r->samples, [](const Sample& s) { return s.total; }), 0.5));
  stats.samples.insert(stats.samples.end(), r->samples.begin(), r->samples.end());
  return {};
}

void print_row(const char* name, const PathStats& s) {
  std::printf("%-14s %5zu %8.2f %8.1f %8.1f   %7.1f %7.1f %7.1f   ", name, s.samples.size(), s.jobs_per_s(),
              s.p(0.5, &Sample::total), s.p(0.99, &Sample::total), s.p(0.5, &Sample::before), s.p(0.5, &Sample::run),
              s.p(0.5, &Sample::after));
  for (std::size_t i = 0; i < s.round_p50.size(); ++i) std::printf("%s%.1f", i ? " " : "", s.round_p50[i]);
  std::printf("\n");
}

/// The slowest job's split: tells an engine stall (after exit: wait, log drain, archive) from
/// a worker one (before start: admission and queue).
void print_slowest(const char* name, const PathStats& s) {
  if (s.samples.empty()) return;
  auto it = std::max_element(s.samples.begin(), s.samples.end(),
                             [](const Sample& a, const Sample& b) { return a.total < b.total; });
  const auto stalls = std::count_if(s.samples.begin(), s.samples.end(), [](const Sample& x) { return x.after > 2000; });
  std::printf("  slowest %-14s %8.1f ms = before %.1f + run %.1f + after %.1f; %td of %zu jobs > 2 s after exit\n", name,
              it->total, it->before, it->run, it->after, stalls, s.samples.size());
}

int run_bench(const BenchOptions& opt) {
  char tmpl[] = "/tmp/ciro-bench-job-overhead.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::fprintf(stderr, "bench_job_overhead: cannot create a temporary folder\n");
    return 1;
  }
  const fs::path dir = tmpl;
  struct DirGuard {
    fs::path dir;
    bool keep;
    ~DirGuard() {
      std::error_code ec;
      if (keep) std::fprintf(stderr, "bench_job_overhead: kept %s\n", dir.c_str());
      else fs::remove_all(dir, ec);
    }
  } dir_guard{dir, opt.keep_dir};

  auto fail = [](const Error& e) {
    std::fprintf(stderr, "bench_job_overhead: %s\n", e.to_string().c_str());
    return 1;
  };

  EnginePath engine(opt, dir / "engine");
  if (auto ok = engine.check_image(); !ok.ok()) return fail(ok.error());

  WorkerProcess worker;
  if (auto ok = worker.start(opt, dir / "worker"); !ok.ok()) return fail(ok.error());
  if (auto ok = worker.wait_ready(std::chrono::seconds(60)); !ok.ok()) return fail(ok.error());
  // Idle: ready, no job yet, and a moment for start-up work (reconcile, first probes) to settle.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto idle_rss = worker.rss_kib();
  if (!idle_rss.ok()) return fail(idle_rss.error());
  WorkerPath api(opt, worker);

  std::printf("bench_job_overhead: %d jobs per path in %d rounds (+%d warm-up), concurrency %d, image %s, "
              "command [\"true\"], completion by %s%s\n",
              opt.jobs, opt.rounds, opt.warmup, opt.concurrency, opt.image.c_str(), opt.completion.c_str(),
              opt.completion == "poll" ? (" every " + std::to_string(opt.poll_ms) + " ms").c_str() : "");
  std::printf("engine: %s   worker: %s (log %s)\n", opt.socket.c_str(), opt.worker.c_str(),
              worker.log_file().c_str());
  std::fflush(stdout);

  if (opt.warmup > 0) {
    if (auto r = engine.run(opt.warmup); !r.ok()) return fail(r.error());
    if (auto r = api.run(opt.warmup); !r.ok()) return fail(r.error());
  }

  PathStats engine_stats, worker_stats;
  auto run_engine = [&](int n) { return engine.run(n); };
  auto run_worker = [&](int n) { return api.run(n); };
  for (int r = 0; r < opt.rounds; ++r) {
    const int n = opt.jobs / opt.rounds + (r < opt.jobs % opt.rounds ? 1 : 0);
    if (n == 0) continue;
    // ABBA order: engine first in even rounds, worker first in odd ones.
    if (r % 2 == 0) {
      if (auto ok = timed_round(engine_stats, n, run_engine); !ok.ok()) return fail(ok.error());
      if (auto ok = timed_round(worker_stats, n, run_worker); !ok.ok()) return fail(ok.error());
    } else {
      if (auto ok = timed_round(worker_stats, n, run_worker); !ok.ok()) return fail(ok.error());
      if (auto ok = timed_round(engine_stats, n, run_engine); !ok.ok()) return fail(ok.error());
    }
  }
  auto busy_rss = worker.rss_kib();
  const std::string ended = worker.stop();

  std::printf("\n%-14s %5s %8s %8s %8s   %7s %7s %7s   %s\n", "path", "jobs", "jobs/s", "p50 ms", "p99 ms", "before",
              "run", "after", "p50 per round (ms)");
  print_row("engine direct", engine_stats);
  print_row("worker API", worker_stats);
  print_slowest("engine direct", engine_stats);
  print_slowest("worker API", worker_stats);
  const double e50 = engine_stats.p(0.5, &Sample::total), w50 = worker_stats.p(0.5, &Sample::total);
  const double lat_ratio = e50 > 0 ? w50 / e50 : 0;
  const double tput_ratio = worker_stats.jobs_per_s() > 0 ? engine_stats.jobs_per_s() / worker_stats.jobs_per_s() : 0;
  std::printf("(before/run/after: p50 of submit→container start, container start→exit, exit→client saw done;\n"
              " p99 is the nearest rank: with fewer than 100 jobs, the slowest)\n");
  double gets = 0;
  for (const auto& x : worker_stats.samples) gets += x.gets;
  std::printf("worker API: POST p50 %.1f ms, p99 %.1f ms; %.1f GETs per job\n\n", worker_stats.p(0.5, &Sample::submit),
              worker_stats.p(0.99, &Sample::submit),
              worker_stats.samples.empty() ? 0.0 : gets / static_cast<double>(worker_stats.samples.size()));
  if (engine_stats.linger > 0.05) {
    std::printf("engine direct: the io_context stayed busy %.2f s in all after the last job of a round "
                "(executor helpers still pending after run_and_remove returned; not counted in jobs/s)\n",
                engine_stats.linger);
  }
  std::printf("overhead: worker p50 / engine p50 = %.3f (%+.1f%%); engine jobs/s / worker jobs/s = %.3f (%+.1f%%)\n",
              lat_ratio, (lat_ratio - 1) * 100, tput_ratio, (tput_ratio - 1) * 100);
  std::printf("target: worker adds < 10%% over the engine -> %s\n",
              lat_ratio < 1.10 && tput_ratio < 1.10 ? "met" : "NOT met (latency or throughput)");
  std::printf("worker RSS: %.1f MiB idle (VmRSS after ready + 1 s)", static_cast<double>(*idle_rss) / 1024.0);
  if (busy_rss.ok()) std::printf(", %.1f MiB after the jobs", static_cast<double>(*busy_rss) / 1024.0);
  std::printf("\n");
  if (ended != "exit 0") std::printf("note: the worker ended with %s after SIGTERM\n", ended.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_job_overhead: trivial jobs through ciro-worker's API vs. DockerExecutor directly, same run"};
  BenchOptions opt;
  app.add_option("--jobs", opt.jobs, "measured jobs per path")->check(CLI::Range(1, 100000));
  app.add_option("--concurrency", opt.concurrency, "jobs in flight per path")->check(CLI::Range(1, 256));
  app.add_option("--rounds", opt.rounds, "alternations of the two paths")->check(CLI::Range(1, 1000));
  app.add_option("--warmup", opt.warmup, "unmeasured jobs per path first")->check(CLI::Range(0, 1000));
  app.add_option("--poll-ms", opt.poll_ms, "worker path: pause between GETs of a running job")->check(CLI::Range(0, 10000));
  app.add_option("--completion", opt.completion, "worker path: poll (GET the job) or logs (follow its logs, then GET)")
      ->check(CLI::IsMember({"poll", "logs"}));
  app.add_option("--worker", opt.worker, "ciro-worker binary")->capture_default_str();
  app.add_option("--socket", opt.socket, "engine socket (default $CIRO_TEST_ENGINE_SOCKET or scripts/engine.sh socket)");
  app.add_option("--image", opt.image, "image of the trivial job")->capture_default_str();
  app.add_flag("--keep-dir", opt.keep_dir, "keep the temporary folder (worker log, job folders)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (opt.socket.empty()) {
    auto s = default_socket();
    if (!s.ok()) {
      std::fprintf(stderr, "bench_job_overhead: %s\n", s.error().to_string().c_str());
      return 1;
    }
    opt.socket = *s;
  }
  struct stat st {};
  if (::stat(opt.socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    std::fprintf(stderr, "bench_job_overhead: no engine socket at %s (run scripts/engine.sh start)\n", opt.socket.c_str());
    return 1;
  }
  if (::access(opt.worker.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "bench_job_overhead: %s is not an executable ciro-worker (pass --worker)\n", opt.worker.c_str());
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  return run_bench(opt);
}
