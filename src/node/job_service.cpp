#include "node/job_service.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <fstream>

#include "compute/hash.h"
#include "compute/manifest.h"
#include "compute/verify.h"
#include "node/blocking.h"
#include "node/metrics.h"
#include "utils/encoding.h"
#include "utils/log.h"
#include "utils/units.h"

namespace ciro::node {

namespace fs = std::filesystem;
namespace net = boost::asio;
using net::awaitable;
using storage::JobRecord;
using storage::JobState;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// Limits for re-reading a spec this node already accepted: the configuration may have changed
// since, and an accepted job must still run as accepted.
compute::JobLimits stored_limits(const compute::JobLimits& current) {
  compute::JobLimits l = current;
  l.max_cpus = 1e6;
  l.max_memory = UINT64_MAX;
  l.max_pids = INT64_MAX;
  l.max_timeout = std::chrono::hours(24 * 365 * 10);
  l.max_output = UINT64_MAX;
  l.max_input = UINT64_MAX;
  l.max_input_files = SIZE_MAX;
  l.allow_network = true;
  l.max_gpus = 1024;
  return l;
}

// Writes a file and fsyncs it (and nothing else): the caller syncs the folder.
Result<void> write_file_synced(const fs::path& path, std::string_view data, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error(Errc::io, "cannot create " + path.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Error(Errc::io, "cannot write " + path.string() + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error(Errc::io, "cannot sync " + path.string());
  return {};
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Atomic replace: temp file, fsync, rename, fsync the folder. A crash leaves the old or the new.
Result<void> write_file_atomic(const fs::path& path, std::string_view data) {
  fs::path tmp = path;
  tmp += ".tmp";
  CIRO_TRY_VOID(write_file_synced(tmp, data));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error(Errc::io, "cannot rename " + tmp.string() + ": " + ec.message());
  sync_dir(path.parent_path());
  return {};
}

// The job's folder with its inline inputs, each file and folder fsync'd (the row comes next).
Result<void> write_job_files(const fs::path& dir, const compute::JobSpec& spec) {
  std::error_code ec;
  fs::create_directories(dir / "input", ec);
  if (ec) return Error(Errc::io, "cannot create " + dir.string() + ": " + ec.message());
  for (const auto& in : spec.inputs) {
    fs::path target = dir / "input" / in.path;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Error(Errc::io, "cannot create " + target.parent_path().string() + ": " + ec.message());
    CIRO_TRY_VOID(write_file_synced(target, in.content));
    sync_dir(target.parent_path());
  }
  sync_dir(dir / "input");
  sync_dir(dir);
  sync_dir(dir.parent_path());
  return {};
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join_csv(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

JobService::JobService(net::any_io_executor io, net::thread_pool& pool, JobServiceOptions options,
                       storage::JobStore& store, compute::Executor& executor, compute::GpuManager& gpus,
                       const utils::NodeKey& key, WorkerMetrics& metrics)
    : m_io(io),
      m_pool(pool),
      m_options(std::move(options)),
      m_store(store),
      m_executor(executor),
      m_gpus(gpus),
      m_key(key),
      m_metrics(metrics),
      m_log(utils::logger("node")) {}

JobService::~JobService() = default;

std::string JobService::new_job_id() {
  // Time-ordered (12 hex digits of milliseconds) then 8 random bytes: unique without coordination
  // and sortable by submission time.
  std::uint8_t rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  char head[16];
  std::snprintf(head, sizeof head, "%012llx", static_cast<unsigned long long>(now_ms()) & 0xffffffffffffull);
  return std::string(head) + utils::to_hex(rnd);
}

std::set<std::string> JobService::busy_gpus() const {
  std::set<std::string> out;
  for (const auto& [id, gpus] : m_running) out.insert(gpus.begin(), gpus.end());
  return out;
}

void JobService::update_gauges() {
  m_metrics.set_running(m_running.size());
  m_metrics.set_queued(m_queue.size());
}

compute::ContainerSpec JobService::container_spec(const std::string& id, const compute::JobSpec& spec,
                                                  const std::vector<std::string>& gpu_ids) const {
  compute::ContainerSpec c;
  const fs::path dir = job_dir(id);
  c.job_id = id;
  c.node_id = m_options.node_id;
  c.image = spec.image;
  c.entrypoint = spec.entrypoint;
  c.command = spec.command;
  c.env = spec.env;
  c.workdir = spec.workdir;
  if (!spec.inputs.empty()) c.input_dir = dir / "input";
  c.network = spec.network;
  c.memory_bytes = spec.memory_bytes;
  c.cpus = spec.cpus;
  c.pids_limit = spec.pids;
  c.tmpfs_bytes = m_options.tmpfs_bytes;
  c.gpu_device_ids = gpu_ids;
  c.timeout = spec.timeout;
  c.max_output_bytes = spec.max_output_bytes;
  c.max_log_bytes = m_options.max_log_bytes;
  c.output_dir = dir / compute::OUTPUTS_DIR;
  c.stdout_file = dir / compute::STDOUT_FILE;
  c.stderr_file = dir / compute::STDERR_FILE;
  return c;
}

awaitable<SubmitOutcome> JobService::submit(std::string body, std::string source) {
  SubmitOutcome out;
  auto refuse = [&](int status, std::string code, std::string field, std::string message) {
    out.status = status;
    out.code = std::move(code);
    out.error = {std::move(field), std::move(message)};
    m_metrics.job_rejected(out.code);
    return out;
  };
  if (m_shutting_down) co_return refuse(503, "shutting_down", "", "the node is shutting down and accepts no new jobs");
  if (!m_started)
    co_return refuse(503, "starting", "", "the node is still starting (reconciling with the engine); retry shortly");
  compute::SpecParse parsed =
      co_await run_blocking(m_pool, [&] { return compute::parse_job_spec(body, m_options.limits); });
  if (!parsed.spec) co_return refuse(400, "invalid_spec", parsed.error.field, parsed.error.message);
  compute::JobSpec spec = std::move(*parsed.spec);
  if (spec.gpus > 0 || spec.gpu_memory_bytes > 0) {
    auto ok = m_gpus.check_request(spec.gpus, spec.gpu_memory_bytes);
    if (!ok.ok())
      co_return refuse(422, "unsatisfiable", spec.gpus > 0 ? "resources.gpus" : "resources.gpu_memory",
                       ok.error().message);
  }
  if (m_queue.size() >= m_options.max_queued) {
    co_return refuse(
        429, "queue_full", "",
        "the queue holds " + std::to_string(m_queue.size()) + " jobs (executor.max_queued_jobs); retry later");
  }
  auto exists = co_await m_executor.image_exists(spec.image);
  if (!exists.ok())
    co_return refuse(503, "engine_unavailable", "", "the container engine did not answer: " + exists.error().message);
  if (!*exists) {
    co_return refuse(
        400, "invalid_spec", "image",
        "image '" + spec.image + "' is not present on this node's container engine (pull or import it first)");
  }

  JobRecord record;
  record.id = new_job_id();
  record.state = JobState::queued;
  record.spec_json = compute::canonical_spec_json(spec);
  record.spec_sha256 = compute::sha256_hex(record.spec_json);
  record.source = source;
  record.submitted_at_ms = now_ms();
  const fs::path dir = job_dir(record.id);

  // Inputs first, then the row: once the row is committed (fsync'd) the job is durable.
  Result<void> stored = co_await run_blocking(m_pool, [&]() -> Result<void> {
    auto written = write_job_files(dir, spec);
    if (written.ok()) written = m_store.insert(record);
    if (!written.ok()) {
      std::error_code ignored;
      fs::remove_all(dir, ignored);  // nothing half-written is left behind
    }
    return written;
  });
  if (!stored.ok()) {
    m_log->error("job {}: could not be stored: {}", record.id, stored.error().message);
    co_return refuse(500, "storage_error", "", "the job could not be stored: " + stored.error().message);
  }
  m_gpu_needs[record.id] = spec.gpus;
  m_queue.push_back(record.id);
  m_active.insert(record.id);
  m_metrics.job_submitted(source);
  m_log->info("job {} accepted from {}: image {} ({} queued, {} running)", record.id, source, spec.image,
              m_queue.size(), m_running.size());
  update_gauges();
  out.job = record;
  pump();
  co_return out;
}

void JobService::pump() {
  if (m_shutting_down || !m_started) return;
  while (m_running.size() < m_options.max_concurrent && !m_queue.empty()) {
    const std::string id = m_queue.front();
    unsigned need = m_gpu_needs.count(id) ? m_gpu_needs[id] : 0;
    if (need > 0) {
      std::size_t busy = busy_gpus().size();
      std::size_t offered = m_gpus.offered_count();
      if (offered < busy + need) break;  // wait for GPUs to free up; keep FIFO order
    }
    m_queue.pop_front();
    m_running[id] = {};
    net::co_spawn(m_io, run_job(id, std::nullopt), net::detached);
  }
  update_gauges();
}

awaitable<void> JobService::run_job(std::string id, std::optional<std::string> resume_container) {
  auto loaded = co_await run_blocking(m_pool, [&] { return m_store.get(id); });
  auto release = [&] {
    m_running.erase(id);
    m_active.erase(id);
    m_cancelled.erase(id);
    m_gpu_needs.erase(id);
    update_gauges();
    pump();
  };
  if (!loaded.ok() || !loaded->has_value()) {
    m_log->error("job {}: cannot load its record: {}", id, loaded.ok() ? "missing" : loaded.error().message);
    release();
    co_return;
  }
  JobRecord record = **loaded;
  if (storage::is_terminal(record.state)) {
    release();
    co_return;
  }
  compute::SpecParse parsed = compute::parse_job_spec(record.spec_json, stored_limits(m_options.limits), true);
  compute::RunOutcome outcome;
  if (!parsed.spec) {
    outcome.reason = compute::EndReason::engine_error;
    outcome.detail = "stored job spec is unreadable: " + parsed.error.field + ": " + parsed.error.message;
    compute::JobSpec empty_spec;  // a named local: see the g++ 12 note below
    co_await finish_job(record, empty_spec, outcome);
    release();
    co_return;
  }
  compute::JobSpec spec = std::move(*parsed.spec);

  std::vector<std::string> gpu_ids;
  if (resume_container) {
    gpu_ids = split_csv(record.gpu_ids);
  } else if (spec.gpus > 0) {
    auto chosen = m_gpus.choose(spec.gpus, spec.gpu_memory_bytes, busy_gpus());
    if (!chosen.ok()) {
      outcome.reason = compute::EndReason::engine_error;
      outcome.detail = "no GPU could be given to the job: " + chosen.error().message;
      co_await finish_job(record, spec, outcome);
      release();
      co_return;
    }
    gpu_ids = *chosen;
  }
  m_running[id] = gpu_ids;
  update_gauges();

  compute::ContainerSpec cs = container_spec(id, spec, gpu_ids);
  Result<compute::RunOutcome> ran = Error(Errc::internal, "not run");
  if (resume_container) {
    m_log->info("job {}: reattaching to container {}", id, resume_container->substr(0, 12));
    ran = co_await m_executor.resume(cs, *resume_container);
  } else {
    record.started_at_ms = now_ms();
    record.container_id = "ciro-" + id;
    record.gpu_ids = join_csv(gpu_ids);
    Result<void> marked = co_await run_blocking(
        m_pool, [&] { return m_store.mark_running(id, record.container_id, record.started_at_ms, record.gpu_ids); });
    if (!marked.ok()) {
      m_log->warn("job {}: not started: {}", id, marked.error().message);
      release();
      co_return;
    }
    if (record.cancel_requested || m_cancelled.count(id)) {
      // Cancelled while it was being started (or before a restart re-queued it): the executor
      // does not know the job yet, so the cancel is honoured here, before any container exists.
      outcome.reason = compute::EndReason::cancelled;
      outcome.detail = "cancelled before it started";
      co_await finish_job(record, spec, outcome);
      release();
      co_return;
    }
    m_log->debug("job {}: starting container ({} cpus, {} memory, timeout {}{})", id, spec.cpus,
                 utils::format_size(spec.memory_bytes), utils::format_duration(spec.timeout),
                 gpu_ids.empty() ? "" : ", GPUs " + record.gpu_ids);
    ran = co_await m_executor.run(cs);
  }
  if (ran.ok()) {
    outcome = std::move(*ran);
  } else {
    outcome.reason = compute::EndReason::engine_error;
    outcome.detail = ran.error().message;
  }
  if (m_cancelled.count(id) && outcome.reason != compute::EndReason::cancelled &&
      outcome.reason != compute::EndReason::exited) {
    outcome.reason = compute::EndReason::cancelled;
  }
  co_await finish_job(record, spec, outcome);
  release();
}

awaitable<void> JobService::finish_job(JobRecord record, compute::JobSpec spec, compute::RunOutcome outcome) {
  const std::string id = record.id;
  const fs::path dir = job_dir(id);
  if (outcome.started_at == std::chrono::system_clock::time_point{}) {
    outcome.started_at = record.started_at_ms ? from_ms(record.started_at_ms) : std::chrono::system_clock::now();
  }
  if (outcome.finished_at == std::chrono::system_clock::time_point{})
    outcome.finished_at = std::chrono::system_clock::now();
  if (outcome.finished_at < outcome.started_at) outcome.finished_at = outcome.started_at;

  JobState state = JobState::failed;
  if (outcome.reason == compute::EndReason::cancelled)
    state = JobState::cancelled;
  else if (outcome.reason == compute::EndReason::exited && outcome.exit_code == 0)
    state = JobState::succeeded;

  record.state = state;
  record.reason = compute::end_reason_name(outcome.reason);
  record.exit_code = outcome.exit_code;
  record.detail = outcome.detail;
  record.finished_at_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(outcome.finished_at.time_since_epoch()).count();
  record.started_at_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(outcome.started_at.time_since_epoch()).count();
  if (!outcome.container_id.empty()) record.container_id = outcome.container_id;

  const std::string node_id = m_options.node_id;
  Result<void> saved = co_await run_blocking(m_pool, [&]() -> Result<void> {
    std::error_code ec;
    fs::create_directories(dir / compute::OUTPUTS_DIR, ec);
    for (const char* log_name : {compute::STDOUT_FILE, compute::STDERR_FILE}) {
      if (!fs::exists(dir / log_name, ec)) std::ofstream(dir / log_name).flush();
    }
    compute::ResultManifest m;
    m.job_id = id;
    m.node_id = node_id;
    m.peer_id = m_key.peer_id();
    m.image = spec.image;
    m.spec_sha256 = record.spec_sha256;
    m.exit_code = outcome.exit_code;
    m.reason = record.reason;
    m.detail = outcome.detail;
    m.started_at = compute::rfc3339_utc_ms(outcome.started_at);
    m.finished_at = compute::rfc3339_utc_ms(outcome.finished_at);
    m.duration_ms = static_cast<std::uint64_t>(record.finished_at_ms - record.started_at_ms);
    std::vector<std::string> skipped;
    CIRO_TRY(m.outputs, compute::hash_output_tree(dir / compute::OUTPUTS_DIR, &skipped));
    // Output entries that were not kept (links, devices, unsafe names) are named in the detail so
    // the client knows the manifest is not the whole of /output.
    std::vector<std::string> not_kept = outcome.output_errors;
    not_kept.insert(not_kept.end(), skipped.begin(), skipped.end());
    if (!not_kept.empty()) {
      std::string list;
      for (std::size_t i = 0; i < not_kept.size() && i < 10; ++i) list += (i ? ", " : "") + not_kept[i];
      if (not_kept.size() > 10) list += ", ... (" + std::to_string(not_kept.size()) + " in all)";
      m.detail += (m.detail.empty() ? "" : "; ") + std::string("outputs not kept: ") + list;
      record.detail = m.detail;
    }
    std::uint64_t size = 0;
    CIRO_TRY(auto out_hash, compute::sha256_file(dir / compute::STDOUT_FILE, &size));
    m.stdout_log = {"stdout", size, out_hash};
    CIRO_TRY(auto err_hash, compute::sha256_file(dir / compute::STDERR_FILE, &size));
    m.stderr_log = {"stderr", size, err_hash};
    m.output_truncated = outcome.output_truncated;
    m.logs_truncated = outcome.logs_truncated;
    compute::SignedManifest signed_manifest = compute::sign_manifest(m, m_key);
    CIRO_TRY_VOID(write_file_atomic(dir / compute::MANIFEST_FILE, signed_manifest.manifest_json));
    record.signature_json = compute::signature_file_json(signed_manifest);
    CIRO_TRY_VOID(write_file_atomic(dir / compute::SIGNATURE_FILE, record.signature_json));
    record.manifest_json = signed_manifest.manifest_json;
    record.manifest_sha256 = signed_manifest.manifest_sha256;
    return m_store.finish(record);
  });
  if (!saved.ok()) {
    // The container is kept so the next start can collect it again.
    m_log->error("job {}: result not saved, container kept for the next start: {}", id, saved.error().message);
    co_return;
  }
  if (!record.container_id.empty() && !outcome.container_id.empty()) {
    // The result is durable: the container is removed in the background so the job's slot frees
    // now (a removal lost to a crash is redone by the next start's reconciliation).
    net::co_spawn(m_io, remove_container(id, outcome.container_id), net::detached);
  }
  if (m_on_finished) m_on_finished(record, spec);
  const std::chrono::duration<double> run_time = outcome.finished_at - outcome.started_at;
  m_metrics.job_finished(storage::job_state_name(state), record.reason, run_time);
  m_log->info("job {} {}: {} (exit {}) after {}{}", id, storage::job_state_name(state), record.reason,
              outcome.exit_code,
              utils::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(run_time)),
              outcome.detail.empty() ? "" : "; " + outcome.detail);
}

awaitable<void> JobService::remove_container(std::string job_id, std::string container_id) {
  auto removed = co_await m_executor.remove(container_id);
  if (!removed.ok()) m_log->warn("job {}: container {} not removed: {}", job_id, container_id, removed.error().message);
}

awaitable<Result<void>> JobService::start() {
  auto owned = co_await m_executor.list_owned(m_options.node_id);
  if (!owned.ok()) co_return Error(owned.error().code, "cannot list this node's containers: " + owned.error().message);
  auto active = co_await run_blocking(m_pool, [&] { return m_store.in_states({JobState::queued, JobState::running}); });
  if (!active.ok()) co_return std::move(active).error();

  std::map<std::string, compute::OwnedContainer> by_job;
  for (const auto& c : *owned) by_job[c.job_id] = c;
  std::set<std::string> kept;
  std::size_t reattached = 0, lost = 0, requeued = 0;
  for (const auto& record : *active) {
    auto parsed = compute::parse_job_spec(record.spec_json, stored_limits(m_options.limits), true);
    m_gpu_needs[record.id] = parsed.spec ? parsed.spec->gpus : 0;
    auto it = by_job.find(record.id);
    if (record.state == JobState::running && it != by_job.end()) {
      kept.insert(it->second.container_id);
      m_active.insert(record.id);
      m_running[record.id] = split_csv(record.gpu_ids);
      net::co_spawn(m_io, run_job(record.id, it->second.container_id), net::detached);
      ++reattached;
    } else if (record.state == JobState::running) {
      compute::RunOutcome outcome;
      outcome.reason = compute::EndReason::node_restarted;
      outcome.detail = "the node restarted and the job's container was gone";
      // Named local, not a temporary inside the co_await: g++ 12 destroys such temporaries twice.
      compute::JobSpec spec = parsed.spec ? *parsed.spec : compute::JobSpec{};
      co_await finish_job(record, spec, outcome);
      m_gpu_needs.erase(record.id);
      ++lost;
    } else {
      m_queue.push_back(record.id);
      m_active.insert(record.id);
      ++requeued;
    }
  }
  std::size_t orphans = 0;
  for (const auto& c : *owned) {
    if (kept.count(c.container_id)) continue;
    ++orphans;
    auto r = co_await m_executor.remove(c.container_id);
    if (!r.ok())
      m_log->warn("orphan container {} (job {}) not removed: {}", c.container_id, c.job_id, r.error().message);
  }
  m_log->info(
      "reconciled with the engine: {} reattached, {} failed (container gone), {} queued, {} orphan containers removed",
      reattached, lost, requeued, orphans);
  m_started = true;
  pump();
  co_return Result<void>();
}

void JobService::begin_shutdown() { m_shutting_down = true; }

awaitable<Result<std::optional<JobRecord>>> JobService::get(std::string id) {
  co_return co_await run_blocking(m_pool, [&] { return m_store.get(id); });
}

awaitable<Result<storage::JobPage>> JobService::list(std::optional<JobState> state, std::size_t limit,
                                                     std::optional<std::int64_t> after) {
  co_return co_await run_blocking(m_pool, [&] { return m_store.list(state, limit, after); });
}

awaitable<Result<JobRecord>> JobService::cancel(std::string id) {
  auto loaded = co_await get(id);
  if (!loaded.ok()) co_return std::move(loaded).error();
  if (!loaded->has_value()) co_return Error(Errc::not_found, "no job " + id);
  JobRecord record = **loaded;
  if (storage::is_terminal(record.state)) {
    co_return Error(Errc::conflict, "job " + id + " already " + storage::job_state_name(record.state));
  }
  auto queued = std::find(m_queue.begin(), m_queue.end(), id);
  if (queued != m_queue.end()) {
    m_queue.erase(queued);
    compute::RunOutcome outcome;
    outcome.reason = compute::EndReason::cancelled;
    outcome.detail = "cancelled before it started";
    auto parsed = compute::parse_job_spec(record.spec_json, stored_limits(m_options.limits), true);
    // Named local, not a temporary inside the co_await: g++ 12 destroys such temporaries twice.
    compute::JobSpec spec = parsed.spec ? *parsed.spec : compute::JobSpec{};
    co_await finish_job(record, spec, outcome);
    m_active.erase(id);
    m_gpu_needs.erase(id);
    update_gauges();
  } else {
    m_cancelled.insert(id);
    (void)co_await run_blocking(m_pool, [&] { return m_store.request_cancel(id); });
    if (!m_executor.cancel(id)) m_log->debug("job {}: cancel asked before its container exists; it ends at start", id);
    m_log->info("job {}: cancel requested", id);
  }
  auto after = co_await get(id);
  if (!after.ok() || !after->has_value()) co_return record;
  co_return **after;
}

awaitable<void> JobService::prune() {
  const std::int64_t cutoff = now_ms() - m_options.retention.count();
  auto old = co_await run_blocking(m_pool, [&] { return m_store.finished_before(cutoff, 200); });
  if (!old.ok()) {
    m_log->warn("pruning old jobs failed: {}", old.error().message);
    co_return;
  }
  for (const auto& id : *old) {
    co_await run_blocking(m_pool, [&] {
      std::error_code ec;
      fs::remove_all(job_dir(id), ec);
      return m_store.remove(id);
    });
  }
  if (!old->empty())
    m_log->info("pruned {} finished jobs older than {}", old->size(), utils::format_duration(m_options.retention));
}

}  // namespace ciro::node
