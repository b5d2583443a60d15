#include "compute/docker_executor.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <fstream>

#include "compute/docker_json.h"
#include "compute/docker_logs.h"
#include "compute/docker_output.h"
#include "compute/tar_reader.h"

namespace ciro::compute {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// A one-shot flag a coroutine can wait for, with a deadline. One waiter at a time.
class Event {
 public:
  explicit Event(net::any_io_executor ex) : m_timer(std::move(ex)) {}
  void set() {
    m_set = true;
    m_timer.cancel();
  }
  bool is_set() const noexcept { return m_set; }
  /// True when set, false when the deadline passed first.
  net::awaitable<bool> wait_until(Clock::time_point deadline) {
    while (!m_set && Clock::now() < deadline) {
      m_timer.expires_at(deadline);
      co_await m_timer.async_wait(net::as_tuple(net::use_awaitable));
    }
    co_return m_set;
  }

 private:
  net::steady_timer m_timer;
  bool m_set = false;
};

std::string http_failure(const char* what, const HttpResponse& r) {
  return std::string(what) + " failed (HTTP " + std::to_string(r.status) + "): " + engine_message(r.body);
}

}  // namespace

struct DockerExecutor::Job {
  Job(net::any_io_executor ex, UnixHttpClient client, std::uint64_t max_log_bytes)
      : http(std::move(client)), wake(ex), wait_done(ex), logs_done(ex), refetch_done(ex), demux(max_log_bytes) {}

  UnixHttpClient http;        // a copy: helper coroutines never touch the executor object
  Event wake;                 // the container stopped (wait returned) or cancel() was called
  bool cancelled = false;
  bool killed = false;        // we killed it (timeout or cancel): exit 137 is then not an OOM
  bool kill_missed = false;   // the kill found the container already stopped (it ended by itself)
  std::optional<EndReason> forced;  // reason decided by supervision (timeout, cancelled, engine_error)

  Event wait_done;
  bool wait_finished = false;
  Result<int> wait_result = Error(Errc::internal, "wait not finished");

  Event logs_done;
  Event refetch_done;         // the whole-log re-read after the stop has finished
  std::shared_ptr<HttpStream> log_stream;
  LogDemuxer demux;
  std::ofstream out_file;
  std::ofstream err_file;
  std::string log_error;
  std::uint64_t stdout_start = 0;  // file sizes when supervision began (resume appends)
  std::uint64_t stderr_start = 0;
  std::uint64_t disk_exceeded = 0;  // bytes found in /output above resources.disk (0: within it)
};

namespace {

// Writes demultiplexed log bytes to the job's stdout/stderr files.
LogDemuxer::Sink file_sink(DockerExecutor::Job* j) {
  return [j](LogDemuxer::Stream s, std::string_view data) {
    std::ofstream& f = s == LogDemuxer::STDERR ? j->err_file : j->out_file;
    if (f.is_open()) f.write(data.data(), static_cast<std::streamsize>(data.size()));
  };
}

// Bytes in a folder tree (regular files only, links not followed), counting stops past `limit`
// or after 100,000 entries: enough to tell "over the limit" without an unbounded walk.
std::uint64_t tree_bytes(const std::filesystem::path& root, std::uint64_t limit) {
  std::uint64_t total = 0;
  std::size_t entries = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(root, std::filesystem::directory_options::skip_permission_denied, ec), end;
       !ec && it != end && total <= limit && entries < 100'000; it.increment(ec), ++entries) {
    std::error_code fec;
    if (it->is_regular_file(fec) && !it->is_symlink(fec)) total += it->file_size(fec);
  }
  return total;
}

// While the container runs, measures its /output volume where the engine keeps it on this host
// (found through inspect; a remote or rootless engine's path may not be readable, and then there
// is no guard) and stops the job once it holds more than resources.disk: /output is a volume
// without a quota, so a job could otherwise fill the engine's disk before collection caps it.
net::awaitable<void> guard_output(std::shared_ptr<DockerExecutor::Job> job, std::string inspect_target,
                                  std::uint64_t limit, milliseconds every, milliseconds timeout) {
  net::steady_timer timer(co_await net::this_coro::executor);
  std::filesystem::path source;
  // Podman 4.3 can hold an inspect of a container that is exiting (and the inspects after it)
  // until the client gives up: a short bound, and another try at the next tick while it runs.
  const milliseconds inspect_timeout = std::min(timeout, milliseconds{2000});
  int inspect_failures = 0;
  while (!job->wait_finished && !job->forced) {
    timer.expires_after(every);
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    if (job->wait_finished || job->forced) break;
    if (source.empty()) {  // first tick: a job that ends sooner never costs an inspect
      auto r = co_await job->http.request("GET", inspect_target, std::nullopt, inspect_timeout);
      if (!r || r->status != 200) {
        if (++inspect_failures >= 5) co_return;
        continue;
      }
      const auto info = nlohmann::json::parse(r->body, nullptr, false);
      if (!info.is_object() || !info.contains("Mounts") || !info["Mounts"].is_array()) co_return;
      for (const auto& m : info["Mounts"]) {
        if (m.is_object() && m.value("Destination", "") == "/output" && m.contains("Source") &&
            m["Source"].is_string())
          source = m["Source"].get<std::string>();
      }
      std::error_code ec;
      if (source.empty() || !std::filesystem::is_directory(source, ec)) co_return;
    }
    const std::uint64_t bytes = tree_bytes(source, limit);
    if (bytes > limit) {
      job->disk_exceeded = bytes;
      job->wake.set();
      break;
    }
  }
}

net::awaitable<void> wait_container(std::shared_ptr<DockerExecutor::Job> job, std::string target, milliseconds timeout) {
  auto r = co_await job->http.request("POST", std::move(target), std::nullopt, timeout);
  if (!r) {
    job->wait_result = std::move(r).error();
  } else if (r->status != 200) {
    job->wait_result = make_error(Errc::engine, http_failure("wait", *r));
  } else {
    job->wait_result = parse_wait_reply(r->body);
  }
  job->wait_finished = true;
  job->wait_done.set();
  job->wake.set();
}

net::awaitable<void> follow_logs(std::shared_ptr<DockerExecutor::Job> job, std::string target, milliseconds header_timeout) {
  auto opened = co_await job->http.open("GET", std::move(target), std::nullopt, header_timeout);
  if (!opened) {
    job->log_error = "logs: " + opened.error().to_string();
    job->logs_done.set();
    co_return;
  }
  std::shared_ptr<HttpStream> stream = std::move(opened).value();
  if (stream->status() != 200) {
    auto body = co_await stream->read_all(64 << 10, header_timeout);
    job->log_error = "logs failed (HTTP " + std::to_string(stream->status()) + "): " +
                     (body ? engine_message(*body) : body.error().to_string());
    job->logs_done.set();
    co_return;
  }
  job->log_stream = stream;
  const LogDemuxer::Sink sink = file_sink(job.get());
  std::vector<char> buf(64 << 10);
  while (true) {
    auto n = co_await stream->read(std::span<char>(buf), milliseconds{0});
    if (!n) {
      if (n.error().code != Errc::cancelled) job->log_error = "logs: " + n.error().to_string();
      break;
    }
    if (*n == 0) break;
    auto fed = job->demux.feed(std::string_view(buf.data(), *n), sink);
    if (!fed) {
      job->log_error = fed.error().to_string();
      break;
    }
    // Flush per read so followers (GET .../logs?follow=true) and a crash see what arrived.
    job->out_file.flush();
    job->err_file.flush();
  }
  job->out_file.flush();
  job->err_file.flush();
  job->log_stream.reset();
  job->logs_done.set();
}

}  // namespace

DockerExecutor::DockerExecutor(net::any_io_executor ex, DockerOptions options)
    : m_ex(ex), m_options(std::move(options)), m_http(ex, m_options.socket) {}

DockerExecutor::~DockerExecutor() = default;

std::string DockerExecutor::api(std::string_view path) const { return "/" + m_options.api_version + std::string(path); }

std::shared_ptr<DockerExecutor::Job> DockerExecutor::register_job(const std::string& job_id) {
  if (m_jobs.count(job_id) != 0) return nullptr;
  auto job = std::make_shared<Job>(m_ex, m_http, 0);
  m_jobs[job_id] = job;
  return job;
}

void DockerExecutor::unregister_job(const std::string& job_id, const std::shared_ptr<Job>& job) {
  auto it = m_jobs.find(job_id);
  if (it != m_jobs.end() && it->second == job) m_jobs.erase(it);
}

bool DockerExecutor::cancel(const std::string& job_id) {
  auto it = m_jobs.find(job_id);
  if (it == m_jobs.end()) return false;
  it->second->cancelled = true;
  it->second->wake.set();
  return true;
}

net::awaitable<Result<RunOutcome>> DockerExecutor::run(ContainerSpec spec) {
  if (!valid_name_part(spec.job_id)) {
    co_return make_error(Errc::invalid_argument, "spec.job_id: must match [A-Za-z0-9][A-Za-z0-9_.-]* (got '" + spec.job_id + "')");
  }
  if (spec.image.empty()) co_return make_error(Errc::invalid_argument, "spec.image: must not be empty");
  std::string job_id = spec.job_id;
  auto job = register_job(job_id);
  if (!job) co_return make_error(Errc::conflict, "job " + job_id + " is already running on this executor");
  job->demux = LogDemuxer(spec.max_log_bytes);
  auto result = co_await run_job(job, std::move(spec));
  unregister_job(job_id, job);
  co_return result;
}

net::awaitable<Result<RunOutcome>> DockerExecutor::run_job(std::shared_ptr<Job> job, ContainerSpec spec) {
  RunOutcome out;
  auto local_start = std::chrono::system_clock::now();
  const auto timeout = m_options.request_timeout;
  std::string name = "ciro-" + spec.job_id;
  auto created = co_await m_http.request("POST", api("/containers/create?name=" + url_encode(name)),
                                         build_create_body(spec).dump(), timeout);
  // Nothing attempted yet: an unreachable engine is the caller's error, not the job's outcome.
  if (!created) co_return std::move(created).error();
  auto finished_now = [&out, local_start] {
    out.started_at = local_start;
    out.finished_at = std::chrono::system_clock::now();
  };
  if (created->status == 404) {
    out.detail = "image " + spec.image + " not found on the engine (" + engine_message(created->body) + ")";
    finished_now();
    co_return out;
  }
  if (created->status == 409) {
    out.detail = "container " + name + " already exists on the engine: " + engine_message(created->body);
    finished_now();
    co_return out;
  }
  if (created->status != 201 && created->status != 200) {
    out.detail = http_failure("container create", *created);
    finished_now();
    co_return out;
  }
  auto id = parse_create_reply(created->body);
  if (!id) {
    out.detail = id.error().message;
    finished_now();
    co_return out;
  }
  out.container_id = *id;
  if (job->cancelled) {
    out.reason = EndReason::cancelled;
    out.detail = "cancelled before the container started";
    finished_now();
    co_return out;
  }

  auto started = co_await m_http.request("POST", api("/containers/" + *id + "/start"), std::nullopt, timeout);
  if (!started || (started->status != 204 && started->status != 304)) {
    out.detail = started ? http_failure("container start", *started) : "container start: " + started.error().to_string();
    finished_now();
    co_return out;
  }
  auto deadline = Clock::now() + spec.timeout;
  co_await supervise(job, spec, *id, deadline, /*append=*/false, "", &out);
  co_await finish(job, std::move(spec), *id, local_start, &out);
  co_return out;
}

net::awaitable<void> DockerExecutor::supervise(std::shared_ptr<Job> job, ContainerSpec spec, std::string id,
                                               Clock::time_point deadline, bool append, std::string since,
                                               RunOutcome* out) {
  auto mode = std::ios::binary | (append ? std::ios::app : std::ios::trunc);
  {
    std::error_code size_ec;
    if (append && !spec.stdout_file.empty()) job->stdout_start = std::filesystem::file_size(spec.stdout_file, size_ec);
    if (size_ec) job->stdout_start = 0;
    size_ec.clear();
    if (append && !spec.stderr_file.empty()) job->stderr_start = std::filesystem::file_size(spec.stderr_file, size_ec);
    if (size_ec) job->stderr_start = 0;
  }
  if (!spec.stdout_file.empty()) job->out_file.open(spec.stdout_file, mode);
  if (!spec.stderr_file.empty()) job->err_file.open(spec.stderr_file, mode);
  std::string logs = api("/containers/" + id + "/logs?follow=1&stdout=1&stderr=1");
  if (!since.empty()) logs += "&since=" + since;
  // The wait request may legitimately last until the deadline plus the kill grace.
  auto now = Clock::now();
  auto wait_timeout = std::chrono::duration_cast<milliseconds>(std::max(deadline - now, Clock::duration::zero())) +
                      m_options.kill_grace + m_options.request_timeout;
  net::co_spawn(m_ex, follow_logs(job, std::move(logs), m_options.request_timeout), net::detached);
  net::co_spawn(m_ex, wait_container(job, api("/containers/" + id + "/wait"), wait_timeout), net::detached);
  if (spec.max_output_bytes > 0) {
    net::co_spawn(m_ex,
                  guard_output(job, api("/containers/" + id + "/json"), spec.max_output_bytes, m_options.disk_check,
                               m_options.request_timeout),
                  net::detached);
  }

  co_await job->wake.wait_until(deadline);
  if (!job->wait_finished && job->disk_exceeded > 0) {
    job->forced = EndReason::disk_limit;
    out->detail = "/output held " + std::to_string(job->disk_exceeded) + " bytes, more than resources.disk (" +
                  std::to_string(spec.max_output_bytes) + " bytes): stopped";
  } else if (job->wait_finished && !job->wait_result.ok()) {
    job->forced = EndReason::engine_error;
    out->detail = "wait: " + job->wait_result.error().to_string();
  } else if (!job->wait_finished) {
    job->forced = job->cancelled ? EndReason::cancelled : EndReason::timeout;
    out->detail = job->cancelled ? "cancelled" : "timeout after " + std::to_string(spec.timeout.count()) + " ms";
  }
  if (job->forced) {
    job->killed = true;
    auto k = co_await m_http.request("POST", api("/containers/" + id + "/kill"), std::nullopt, m_options.request_timeout);
    // 404/409: already gone or not running; anything else is worth reporting.
    if (!k) {
      out->detail += "; kill: " + k.error().to_string();
    } else if (k->status == 404 || k->status == 409 ||
               (k->status == 500 && k->body.find("can only kill running containers") != std::string::npos)) {
      // Already stopped: the container ended by itself just before the deadline and the engine's
      // wait reply was late (Podman's can take hundreds of ms). finish() reads its real end.
      job->kill_missed = true;
    } else if (k->status != 204 && k->status != 200) {
      out->detail += "; " + http_failure("kill", *k);
    }
    if (!co_await job->wait_done.wait_until(Clock::now() + m_options.kill_grace)) {
      out->detail += "; the container did not stop within the kill grace";
    }
  }
  if (!co_await job->logs_done.wait_until(Clock::now() + m_options.log_drain)) {
    if (job->log_stream) job->log_stream->close();
    co_await job->logs_done.wait_until(Clock::now() + milliseconds{1000});
  }
  // The followed stream is for watching a job live; it is not a faithful copy: Podman may end it
  // at exit before the last bytes, or lag behind large, fast output. A stopped container's logs
  // are complete, so they are read once more, whole, and that copy is the one kept.
  // It runs beside inspect and the /output collection; finish() waits for it before counting.
  // The whole log from the container's start, also after a resume (no gap, no repeated second).
  net::co_spawn(m_ex, refetch_logs(job, spec, id, /*append=*/false, ""), net::detached);
}

net::awaitable<void> DockerExecutor::refetch_logs(std::shared_ptr<Job> job, ContainerSpec spec, std::string id,
                                                  bool append, std::string since) {
  struct Done {
    Job* j;
    ~Done() { j->refetch_done.set(); }
  } done{job.get()};
  job->out_file.close();
  job->err_file.close();
  std::error_code ec;
  for (auto [path, start] : {std::pair{spec.stdout_file, job->stdout_start}, std::pair{spec.stderr_file, job->stderr_start}}) {
    if (!path.empty()) std::filesystem::resize_file(path, append ? start : 0, ec);
  }
  auto mode = std::ios::binary | std::ios::app;
  if (!spec.stdout_file.empty()) job->out_file.open(spec.stdout_file, mode);
  if (!spec.stderr_file.empty()) job->err_file.open(spec.stderr_file, mode);
  job->demux = LogDemuxer(spec.max_log_bytes);
  job->log_error.clear();
  std::string target = api("/containers/" + id + "/logs?stdout=1&stderr=1");
  if (!since.empty()) target += "&since=" + since;
  auto opened = co_await m_http.open("GET", std::move(target), std::nullopt, m_options.request_timeout);
  if (!opened || (*opened)->status() != 200) {
    job->log_error = "logs may be incomplete: the engine's log stream lagged and re-reading failed";
    co_return;
  }
  std::shared_ptr<HttpStream> stream = std::move(opened).value();
  const LogDemuxer::Sink sink = file_sink(job.get());
  std::vector<char> buf(64 << 10);
  while (true) {
    auto n = co_await stream->read(std::span<char>(buf), m_options.request_timeout);
    if (!n) {
      job->log_error = "logs may be incomplete: " + n.error().to_string();
      break;
    }
    if (*n == 0) break;
    auto fed = job->demux.feed(std::string_view(buf.data(), *n), sink);
    if (!fed) {
      job->log_error = fed.error().to_string();
      break;
    }
  }
  stream->close();
  job->out_file.flush();
  job->err_file.flush();
}

net::awaitable<void> DockerExecutor::finish(std::shared_ptr<Job> job, ContainerSpec spec, std::string id,
                                            std::chrono::system_clock::time_point local_start, RunOutcome* out) {
  auto inspected = co_await m_http.request("GET", api("/containers/" + id + "/json"), std::nullopt, m_options.request_timeout);
  Result<ContainerState> state = Error(Errc::internal, "");
  if (!inspected) {
    state = std::move(inspected).error();
  } else if (inspected->status != 200) {
    state = make_error(Errc::engine, http_failure("container inspect", *inspected));
  } else {
    state = parse_inspect(inspected->body);
  }

  if (state) {
    out->exit_code = state->running ? -1 : state->exit_code;
    out->started_at = state->started_at.value_or(local_start);
    out->finished_at = state->finished_at.value_or(std::chrono::system_clock::now());
    // Podman reports a FinishedAt a few microseconds before StartedAt for very short runs.
    if (out->finished_at < out->started_at) out->finished_at = out->started_at;
  } else {
    if (job->wait_finished && job->wait_result.ok()) out->exit_code = *job->wait_result;
    out->started_at = local_start;
    out->finished_at = std::chrono::system_clock::now();
  }

  if (job->forced == EndReason::timeout && job->kill_missed && state && !state->running) {
    // It had stopped on its own by the deadline: report how it really ended.
    job->forced.reset();
    job->killed = false;
    out->detail.clear();
  }
  if (job->forced) {
    out->reason = *job->forced;
  } else if (!state) {
    out->reason = job->wait_finished && job->wait_result.ok() ? EndReason::exited : EndReason::engine_error;
    out->detail = "inspect: " + state.error().to_string();
  } else if (state->running) {
    out->reason = EndReason::engine_error;
    out->detail = "the container still runs after wait returned";
  } else if (state->oom_killed || (out->exit_code == 137 && spec.memory_bytes > 0 && !job->killed)) {
    // Podman 4.3 reports OOMKilled false even when the memory cgroup killed the process; a
    // SIGKILL we did not send, with a memory limit set, is the kernel's OOM killer.
    out->reason = EndReason::out_of_memory;
    out->detail = "memory limit of " + std::to_string(spec.memory_bytes) + " bytes exceeded";
  } else {
    out->reason = EndReason::exited;
  }
  co_await collect_output(std::move(spec), std::move(id), out);
  if (!co_await job->refetch_done.wait_until(Clock::now() + m_options.request_timeout + milliseconds{5000})) {
    out->detail += std::string(out->detail.empty() ? "" : "; ") + "logs may be incomplete: re-reading them timed out";
  }
  out->stdout_bytes = job->demux.stdout_bytes();
  out->stderr_bytes = job->demux.stderr_bytes();
  out->logs_truncated = job->demux.truncated();
  job->out_file.close();
  job->err_file.close();
  if (!job->log_error.empty()) {
    out->detail += (out->detail.empty() ? "" : "; ") + job->log_error;
  }
}

net::awaitable<void> DockerExecutor::collect_output(ContainerSpec spec, std::string id, RunOutcome* out) {
  if (spec.output_dir.empty()) co_return;
  auto opened = co_await m_http.open("GET", api("/containers/" + id + "/archive?path=/output"), std::nullopt,
                                     m_options.request_timeout);
  if (!opened) {
    out->output_errors.push_back("archive: " + opened.error().to_string());
    co_return;
  }
  std::shared_ptr<HttpStream> stream = std::move(opened).value();
  if (stream->status() != 200) {
    auto body = co_await stream->read_all(64 << 10, m_options.request_timeout);
    out->output_errors.push_back("archive failed (HTTP " + std::to_string(stream->status()) +
                                 "): " + (body ? engine_message(*body) : body.error().to_string()));
    co_return;
  }
  TarReader reader;
  OutputExtractor extractor(spec.output_dir, spec.max_output_bytes);
  std::vector<char> buf(64 << 10);
  bool stopped = false;
  while (true) {
    auto n = co_await stream->read(std::span<char>(buf), m_options.request_timeout);
    if (!n) {
      out->output_errors.push_back("archive: " + n.error().to_string());
      stopped = true;
      break;
    }
    if (*n == 0) break;
    auto fed = reader.feed(std::string_view(buf.data(), *n), extractor);
    if (!fed) {
      if (!extractor.truncated()) out->output_errors.push_back("archive: " + fed.error().to_string());
      stopped = true;
      break;
    }
    if (reader.at_end()) break;
  }
  if (!stopped) {
    if (auto f = reader.finish(); !f) out->output_errors.push_back("archive: " + f.error().to_string());
  }
  stream->close();
  out->output_truncated = extractor.truncated();
  for (const auto& e : extractor.errors()) out->output_errors.push_back(e);
}

net::awaitable<Result<RunOutcome>> DockerExecutor::resume(ContainerSpec spec, std::string container_id) {
  if (!valid_name_part(spec.job_id)) co_return make_error(Errc::invalid_argument, "spec.job_id: invalid job id");
  if (!valid_name_part(container_id)) co_return make_error(Errc::invalid_argument, "container_id: invalid id");
  std::string job_id = spec.job_id;
  auto job = register_job(job_id);
  if (!job) co_return make_error(Errc::conflict, "job " + job_id + " is already running on this executor");
  job->demux = LogDemuxer(spec.max_log_bytes);
  auto result = co_await resume_job(job, std::move(spec), std::move(container_id));
  unregister_job(job_id, job);
  co_return result;
}

net::awaitable<Result<RunOutcome>> DockerExecutor::resume_job(std::shared_ptr<Job> job, ContainerSpec spec,
                                                              std::string id) {
  RunOutcome out;
  out.container_id = id;
  auto inspected = co_await m_http.request("GET", api("/containers/" + id + "/json"), std::nullopt, m_options.request_timeout);
  if (!inspected) co_return std::move(inspected).error();
  if (inspected->status == 404) {
    out.detail = "container " + id + " no longer exists on the engine";
    out.started_at = out.finished_at = std::chrono::system_clock::now();
    co_return out;
  }
  if (inspected->status != 200) {
    out.detail = http_failure("container inspect", *inspected);
    out.started_at = out.finished_at = std::chrono::system_clock::now();
    co_return out;
  }
  auto state = parse_inspect(inspected->body);
  if (!state) {
    out.detail = state.error().message;
    out.started_at = out.finished_at = std::chrono::system_clock::now();
    co_return out;
  }
  auto now = std::chrono::system_clock::now();
  auto local_start = state->started_at.value_or(now);
  if (state->running) {
    auto elapsed = now - local_start;
    auto left = spec.timeout - std::chrono::duration_cast<milliseconds>(elapsed);
    if (left.count() < 0) left = milliseconds{0};
    auto since = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    co_await supervise(job, spec, id, Clock::now() + left, /*append=*/true, since, &out);
  } else {
    job->wait_finished = true;
    job->wait_result = state->exit_code;
    // It ended while the node was down: its whole log is read now.
    net::co_spawn(m_ex, refetch_logs(job, spec, id, /*append=*/false, ""), net::detached);
  }
  co_await finish(job, std::move(spec), id, local_start, &out);
  co_return out;
}

net::awaitable<Result<std::vector<OwnedContainer>>> DockerExecutor::list_owned(std::string node_id) {
  nlohmann::json filters = {{"label", nlohmann::json::array({std::string(LABEL_NODE) + "=" + node_id})}};
  auto r = co_await m_http.request("GET", api("/containers/json?all=1&filters=" + url_encode(filters.dump())),
                                   std::nullopt, m_options.request_timeout);
  if (!r) co_return std::move(r).error();
  if (r->status != 200) co_return make_error(Errc::engine, http_failure("container list", *r));
  co_return parse_container_list(r->body);
}

net::awaitable<Result<void>> DockerExecutor::remove(std::string container_id) {
  if (!valid_name_part(container_id)) co_return make_error(Errc::invalid_argument, "container_id: invalid id");
  auto r = co_await m_http.request("DELETE", api("/containers/" + container_id + "?force=1&v=1"), std::nullopt,
                                   m_options.request_timeout);
  if (!r) co_return std::move(r).error();
  if (r->status == 200 || r->status == 204 || r->status == 404) co_return Result<void>{};
  co_return make_error(Errc::engine, http_failure("container remove", *r));
}

net::awaitable<Result<EngineInfo>> DockerExecutor::info() {
  auto r = co_await m_http.request("GET", api("/version"), std::nullopt, m_options.request_timeout);
  if (!r) co_return std::move(r).error();
  if (r->status != 200) co_return make_error(Errc::engine, http_failure("version", *r));
  co_return parse_version(r->body);
}

net::awaitable<Result<bool>> DockerExecutor::image_exists(std::string image) {
  if (image.empty() || image.find_first_of("?#% \r\n") != std::string::npos || image.find("..") != std::string::npos) {
    co_return make_error(Errc::invalid_argument, "image: not a valid image reference: '" + image + "'");
  }
  auto r = co_await m_http.request("GET", api("/images/" + image + "/json"), std::nullopt, m_options.request_timeout);
  if (!r) co_return std::move(r).error();
  if (r->status == 200) co_return true;
  if (r->status == 404) co_return false;
  co_return make_error(Errc::engine, http_failure("image inspect", *r));
}

net::awaitable<Result<RunOutcome>> DockerExecutor::run_and_remove(ContainerSpec spec) {
  auto outcome = co_await run(std::move(spec));
  if (!outcome || outcome->container_id.empty()) co_return outcome;
  auto removed = co_await remove(outcome->container_id);
  if (!removed) co_return std::move(removed).error();
  co_return outcome;
}

}  // namespace ciro::compute
