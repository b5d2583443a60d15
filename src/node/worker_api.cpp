#include "node/worker_api.h"

#include <sodium.h>

#include <cctype>
#include <cerrno>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <fstream>

#include "blockchain/chain_service.h"
#include "compute/manifest.h"
#include "compute/verify.h"
#include "network/worker_network.h"
#include "node/job_service.h"
#include "node/metrics.h"
#include "utils/encoding.h"
#include "utils/units.h"

namespace ciro::node {

namespace fs = std::filesystem;
namespace net = boost::asio;
using api::HttpRequest;
using api::HttpResponse;
using net::awaitable;
using nlohmann::json;

namespace {

// Job fields can hold bytes a container chose (e.g. an output file name in `detail`): invalid
// UTF-8 is replaced, never thrown on.
std::string to_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string iso_ms(std::int64_t ms) {
  if (ms <= 0) return "";
  return compute::rfc3339_utc_ms(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

json job_json(const storage::JobRecord& j) {
  json out = {{"id", j.id},
              {"state", storage::job_state_name(j.state)},
              {"source", j.source},
              {"submitted_at", iso_ms(j.submitted_at_ms)},
              {"spec_sha256", j.spec_sha256},
              {"cancel_requested", j.cancel_requested}};
  out["spec"] = json::parse(j.spec_json, nullptr, false);
  if (j.started_at_ms) out["started_at"] = iso_ms(j.started_at_ms);
  if (j.finished_at_ms) {
    out["finished_at"] = iso_ms(j.finished_at_ms);
    out["duration_ms"] = j.finished_at_ms - j.started_at_ms;
  }
  if (!j.reason.empty()) {
    out["reason"] = j.reason;
    out["exit_code"] = j.exit_code;
  }
  if (!j.detail.empty()) out["detail"] = j.detail;
  if (!j.gpu_ids.empty()) out["gpus"] = j.gpu_ids;
  if (!j.manifest_sha256.empty()) out["manifest_sha256"] = j.manifest_sha256;
  return out;
}

bool valid_job_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c));
  });
}

HttpResponse unknown_job(const std::string& id) {
  return api::error_response(404, "job_not_found", "no job with id '" + id + "' on this node", "id");
}

// Bearer token check in constant time; 401 tells the client how to authenticate.
bool authorized(const WorkerApiContext* ctx, const HttpRequest& req) {
  const std::string h = req.header("authorization");
  const std::string prefix = "Bearer ";
  if (h.size() != prefix.size() + ctx->token.size() || h.compare(0, prefix.size(), prefix) != 0) return false;
  return sodium_memcmp(h.data() + prefix.size(), ctx->token.data(), ctx->token.size()) == 0;
}

HttpResponse unauthorized() {
  auto r =
      api::error_response(401, "unauthorized",
                          "missing or wrong bearer token: send 'Authorization: Bearer <token>' with the token from "
                          "the node's api.token file");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ciro\"");
  return r;
}

using Fn = awaitable<HttpResponse> (*)(WorkerApiContext*, HttpRequest);

api::Handler authed(WorkerApiContext* ctx, Fn fn) {
  return [ctx, fn](HttpRequest req) -> awaitable<HttpResponse> {
    if (!authorized(ctx, req)) return [](HttpResponse r) -> awaitable<HttpResponse> { co_return r; }(unauthorized());
    return fn(ctx, std::move(req));
  };
}

api::Handler open_route(WorkerApiContext* ctx, Fn fn) {
  return [ctx, fn](HttpRequest req) { return fn(ctx, std::move(req)); };
}

// ---- jobs -------------------------------------------------------------------------------------

awaitable<HttpResponse> submit_job(WorkerApiContext* ctx, HttpRequest req) {
  const std::string ct = req.header("content-type");
  if (!ct.empty() && ct.find("json") == std::string::npos) {
    co_return api::error_response(415, "unsupported_media_type", "send the job spec as application/json");
  }
  SubmitOutcome out = co_await ctx->jobs->submit(std::move(req.body), "api");
  if (!out.job) {
    auto r = api::error_response(out.status, out.code, out.error.message, out.error.field);
    if (out.status == 429 || out.status == 503) r.headers.emplace_back("Retry-After", "5");
    co_return r;
  }
  auto r = api::json_response(201, to_text(job_json(*out.job)));
  r.headers.emplace_back("Location", "/api/v1/jobs/" + out.job->id);
  co_return r;
}

awaitable<HttpResponse> list_jobs(WorkerApiContext* ctx, HttpRequest req) {
  std::optional<storage::JobState> state;
  if (auto it = req.query.find("state"); it != req.query.end() && !it->second.empty()) {
    state = storage::job_state_from_name(it->second);
    if (!state) {
      co_return api::error_response(400, "invalid_query",
                                    "state must be queued, running, succeeded, failed or cancelled", "state");
    }
  }
  std::size_t limit = 50;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || !std::isdigit(static_cast<unsigned char>(it->second[0])) || *end != '\0' || v < 1 ||
        v > 500) {
      co_return api::error_response(400, "invalid_query", "limit must be an integer from 1 to 500", "limit");
    }
    limit = static_cast<std::size_t>(v);
  }
  std::optional<std::int64_t> after;
  if (auto it = req.query.find("after"); it != req.query.end()) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || !std::isdigit(static_cast<unsigned char>(it->second[0])) || *end != '\0' || v < 0 ||
        errno == ERANGE) {
      co_return api::error_response(400, "invalid_query", "after must be the next_cursor of a previous page", "after");
    }
    after = v;
  }
  auto page = co_await ctx->jobs->list(state, limit, after);
  if (!page.ok()) co_return api::error_response(500, "storage_error", page.error().message);
  json jobs = json::array();
  for (const auto& j : page->jobs) jobs.push_back(job_json(j));
  json body = {{"jobs", jobs}};
  body["next_cursor"] = page->next_cursor ? json(*page->next_cursor) : json(nullptr);
  co_return api::json_response(200, to_text(body));
}

awaitable<HttpResponse> get_job(WorkerApiContext* ctx, HttpRequest req) {
  const std::string id = req.params["id"];
  if (!valid_job_id(id)) co_return unknown_job(id);
  auto j = co_await ctx->jobs->get(id);
  if (!j.ok()) co_return api::error_response(500, "storage_error", j.error().message);
  if (!j->has_value()) co_return unknown_job(id);
  co_return api::json_response(200, to_text(job_json(**j)));
}

awaitable<HttpResponse> cancel_job(WorkerApiContext* ctx, HttpRequest req) {
  const std::string id = req.params["id"];
  if (!valid_job_id(id)) co_return unknown_job(id);
  auto r = co_await ctx->jobs->cancel(id);
  if (!r.ok()) {
    if (r.error().code == Errc::not_found) co_return unknown_job(id);
    if (r.error().code == Errc::conflict) co_return api::error_response(409, "job_finished", r.error().message, "id");
    co_return api::error_response(500, "internal", r.error().message);
  }
  co_return api::json_response(202, to_text(job_json(*r)));
}

// Streams a job's log files: new bytes as they are written while the job is active (follow),
// everything then the end once it is not.
struct LogFollower {
  WorkerApiContext* ctx;
  std::string id;
  std::vector<fs::path> files;
  std::vector<std::uint64_t> offsets;
  bool follow;
  bool draining = false;
  std::chrono::steady_clock::time_point deadline;

  awaitable<std::optional<std::string>> next() {
    for (;;) {
      std::string chunk;
      for (std::size_t i = 0; i < files.size() && chunk.empty(); ++i) {
        std::ifstream in(files[i], std::ios::binary);
        if (!in) continue;
        in.seekg(static_cast<std::streamoff>(offsets[i]));
        chunk.resize(64 * 1024);
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        chunk.resize(static_cast<std::size_t>(in.gcount()));
        offsets[i] += chunk.size();
      }
      if (!chunk.empty()) co_return chunk;
      if (draining || !follow || !ctx->jobs->is_active(id) || std::chrono::steady_clock::now() > deadline) {
        if (!draining && follow) {
          draining = true;  // one more pass picks up what was written just before the end
          continue;
        }
        co_return std::nullopt;
      }
      net::steady_timer timer(co_await net::this_coro::executor, std::chrono::milliseconds(200));
      co_await timer.async_wait(net::use_awaitable);
    }
  }
};

awaitable<HttpResponse> job_logs(WorkerApiContext* ctx, HttpRequest req) {
  const std::string id = req.params["id"];
  if (!valid_job_id(id)) co_return unknown_job(id);
  auto j = co_await ctx->jobs->get(id);
  if (!j.ok()) co_return api::error_response(500, "storage_error", j.error().message);
  if (!j->has_value()) co_return unknown_job(id);
  std::string stream = req.query.count("stream") ? req.query["stream"] : "all";
  const fs::path dir = ctx->jobs->job_dir(id);
  auto f = std::make_shared<LogFollower>();
  f->ctx = ctx;
  f->id = id;
  if (stream == "stdout" || stream == "all") f->files.push_back(dir / compute::STDOUT_FILE);
  if (stream == "stderr" || stream == "all") f->files.push_back(dir / compute::STDERR_FILE);
  if (f->files.empty())
    co_return api::error_response(400, "invalid_query", "stream must be stdout, stderr or all", "stream");
  f->offsets.assign(f->files.size(), 0);
  std::string follow = req.query.count("follow") ? req.query["follow"] : "false";
  if (follow != "true" && follow != "false" && follow != "1" && follow != "0") {
    co_return api::error_response(400, "invalid_query", "follow must be true or false", "follow");
  }
  f->follow = follow == "true" || follow == "1";
  f->deadline = std::chrono::steady_clock::now() + std::chrono::hours(48);
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.stream = [f]() { return f->next(); };
  co_return r;
}

awaitable<HttpResponse> finished_job_file(WorkerApiContext* ctx, const std::string& id, const char* file,
                                          const std::string& content_type) {
  if (!valid_job_id(id)) co_return unknown_job(id);
  auto j = co_await ctx->jobs->get(id);
  if (!j.ok()) co_return api::error_response(500, "storage_error", j.error().message);
  if (!j->has_value()) co_return unknown_job(id);
  if (!storage::is_terminal((*j)->state)) {
    co_return api::error_response(
        409, "job_not_finished",
        std::string("job ") + id + " is " + storage::job_state_name((*j)->state) + "; the result exists once it ends");
  }
  HttpResponse r;
  r.content_type = content_type;
  r.body = std::string(file) == compute::MANIFEST_FILE ? (*j)->manifest_json : (*j)->signature_json;
  co_return r;
}

awaitable<HttpResponse> job_result(WorkerApiContext* ctx, HttpRequest req) {
  co_return co_await finished_job_file(ctx, req.params["id"], compute::MANIFEST_FILE, "application/json");
}

awaitable<HttpResponse> job_signature(WorkerApiContext* ctx, HttpRequest req) {
  co_return co_await finished_job_file(ctx, req.params["id"], compute::SIGNATURE_FILE, "application/json");
}

awaitable<HttpResponse> job_output(WorkerApiContext* ctx, HttpRequest req) {
  const std::string id = req.params["id"];
  const std::string path = req.params["path"];
  if (!valid_job_id(id)) co_return unknown_job(id);
  if (!compute::is_safe_relative_path(path)) {
    co_return api::error_response(400, "invalid_path",
                                  "output path '" + path + "' must be relative, without '..' or '.'", "path");
  }
  auto j = co_await ctx->jobs->get(id);
  if (!j.ok()) co_return api::error_response(500, "storage_error", j.error().message);
  if (!j->has_value()) co_return unknown_job(id);
  if (!storage::is_terminal((*j)->state)) {
    co_return api::error_response(409, "job_not_finished", "outputs exist once the job ends");
  }
  // Only files named in the signed manifest are served.
  auto manifest = compute::parse_manifest((*j)->manifest_json);
  bool listed = false;
  if (manifest.ok()) {
    for (const auto& o : manifest->outputs) listed = listed || o.path == path;
  }
  const fs::path file = ctx->jobs->job_dir(id) / compute::OUTPUTS_DIR / path;
  std::error_code ec;
  if (!listed || !fs::is_regular_file(fs::symlink_status(file, ec))) {
    co_return api::error_response(404, "output_not_found", "job " + id + " has no output '" + path + "'", "path");
  }
  HttpResponse r;
  r.content_type = "application/octet-stream";
  r.file = file.string();
  co_return r;
}

// ---- node, health, metrics --------------------------------------------------------------------

json gpus_json(const std::vector<compute::GpuDevice>& gpus) {
  json out = json::array();
  for (const auto& g : gpus) {
    json d = {{"index", g.index},
              {"uuid", g.uuid},
              {"name", g.name},
              {"memory_total_bytes", g.memory_total},
              {"memory_used_bytes", g.memory_used},
              {"offered", g.offered},
              {"offered_memory_bytes", g.offered_memory_bytes}};
    d["utilization_pct"] = g.utilization_pct ? json(*g.utilization_pct) : json(nullptr);
    d["temperature_c"] = g.temperature_c ? json(*g.temperature_c) : json(nullptr);
    d["power_mw"] = g.power_mw ? json(*g.power_mw) : json(nullptr);
    out.push_back(d);
  }
  return out;
}

awaitable<HttpResponse> node_info(WorkerApiContext* ctx, HttpRequest) {
  const auto& c = *ctx->config;
  const auto& h = *ctx->health;
  json body = {
      {"id", c.node.id},
      {"peer_id", ctx->key->peer_id()},
      {"public_key", utils::to_hex(ctx->key->public_key())},
      {"version", ctx->version},
      {"uptime_s",
       std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx->started_at).count()},
      {"engine",
       {{"ok", h.engine_ok},
        {"version", h.engine.version},
        {"api_version", h.engine.api_version},
        {"detail", h.engine_detail}}},
      {"gpus", gpus_json(h.gpus)},
      {"gpu_note", ctx->gpus->note()},
      {"slots",
       {{"max_concurrent", c.executor.max_concurrent_jobs},
        {"running", ctx->jobs->running_count()},
        {"queued", ctx->jobs->queued_count()},
        {"max_queued", c.executor.max_queued_jobs}}},
      {"limits",
       {{"max_cpus", c.executor.max_cpus},
        {"max_memory_bytes", c.executor.max_memory},
        {"max_pids", c.executor.max_pids},
        {"max_timeout_ms", c.executor.max_timeout.count()},
        {"max_output_bytes", c.executor.max_output_size},
        {"max_input_bytes", c.executor.max_input_size},
        {"max_gpus_per_job", c.executor.max_gpus_per_job},
        {"allow_network", c.executor.allow_network},
        {"default_image", c.executor.default_image}}},
  };
  json p2p = {{"enabled", ctx->network != nullptr}};
  if (ctx->network) {
    auto stats = ctx->network->stats();
    p2p["peer_id"] = ctx->network->peer_id();
    p2p["listen_addrs"] = ctx->network->listen_addrs();
    p2p["connected_peers"] = stats.peers;
    p2p["gossip"] = {{"in", stats.gossip_in}, {"out", stats.gossip_out}, {"rejected", stats.gossip_rejected}};
    p2p["job_announcements_received"] = ctx->job_announcements ? *ctx->job_announcements : 0;
  }
  body["p2p"] = p2p;
  json chain = {{"enabled", ctx->chain != nullptr}};
  if (ctx->chain) {
    auto st = ctx->chain->status();
    chain.update({{"running", st.running},
                  {"registered", st.registered},
                  {"spec_version", st.spec_version},
                  {"account_address", st.account_address},
                  {"cursor_block", st.cursor_block},
                  {"reorgs", st.reorgs},
                  {"heartbeats_sent", st.heartbeats_sent},
                  {"results_submitted", st.results_submitted},
                  {"jobs_assigned", st.jobs_assigned},
                  {"open_transactions", st.open_transactions},
                  {"last_error", st.last_error}});
  }
  body["chain"] = chain;
  co_return api::json_response(200, to_text(body));
}

awaitable<HttpResponse> peers(WorkerApiContext* ctx, HttpRequest) {
  if (!ctx->network) {
    co_return api::error_response(404, "p2p_disabled", "the P2P layer is off on this node ([network] enabled = false)");
  }
  json out = json::array();
  for (const auto& p : ctx->network->peers()) {
    out.push_back({{"peer_id", p.peer_id},
                   {"addrs", p.addrs},
                   {"protocols", p.protocols},
                   {"agent", p.agent},
                   {"connected", p.connected}});
  }
  co_return api::json_response(200, to_text(json{{"peers", out}}));
}

awaitable<HttpResponse> health(WorkerApiContext* ctx, HttpRequest) {
  const auto& h = *ctx->health;
  const auto& c = *ctx->config;
  json checks;
  std::string overall = "ok";
  auto worsen = [&](const std::string& s) {
    if (s == "unhealthy")
      overall = "unhealthy";
    else if (s == "degraded" && overall == "ok")
      overall = "degraded";
  };
  std::string engine_status = !h.checked ? "degraded" : h.engine_ok ? "ok" : "unhealthy";
  checks["engine"] = {
      {"status", engine_status},
      {"detail", h.checked ? (h.engine_ok ? "engine " + h.engine.version + " (API " + h.engine.api_version + ") at " +
                                                c.executor.engine_socket
                                          : h.engine_detail)
                           : "not checked yet"}};
  worsen(engine_status);
  checks["database"] = {{"status", h.database_ok ? "ok" : "unhealthy"}, {"detail", h.database_detail}};
  worsen(h.database_ok ? "ok" : "unhealthy");
  std::string gpu_status = "ok";
  std::string gpu_detail;
  if (!c.gpu.enabled) {
    gpu_detail = "GPUs disabled (gpu.enabled = false)";
  } else if (!ctx->gpus->available() || ctx->gpus->offered_count() == 0) {
    gpu_status = "degraded";
    gpu_detail = "no GPU offered: " + ctx->gpus->note();
  } else {
    gpu_detail = std::to_string(ctx->gpus->offered_count()) + " GPU(s) offered, driver " + ctx->gpus->driver_version();
  }
  checks["gpu"] = {{"status", gpu_status}, {"detail", gpu_detail}, {"count", ctx->gpus->offered_count()}};
  worsen(gpu_status);
  std::string disk_status = !h.checked || h.disk_free_bytes >= (1ull << 30) ? "ok" : "degraded";
  checks["disk"] = {{"status", disk_status},
                    {"free_bytes", h.disk_free_bytes},
                    {"detail", utils::format_size(h.disk_free_bytes) + " free in " + c.node.data_dir.string()}};
  worsen(disk_status);
  std::string jobs_status = h.reconciled ? (h.stopping ? "degraded" : "ok") : "degraded";
  checks["jobs"] = {{"status", jobs_status},
                    {"detail", h.stopping     ? "shutting down"
                               : h.reconciled ? "accepting jobs"
                                              : "not accepting jobs yet: " + h.reconcile_detail},
                    {"running", ctx->jobs->running_count()},
                    {"queued", ctx->jobs->queued_count()}};
  worsen(jobs_status);
  if (ctx->network) {
    auto stats = ctx->network->stats();
    bool lonely = stats.peers == 0 && !c.network.bootstrap_peers.empty();
    std::string net_status = lonely ? "degraded" : "ok";
    checks["network"] = {{"status", net_status},
                         {"detail", lonely ? "no peer connected (bootstrap peers are being redialed)"
                                           : std::to_string(stats.peers) + " peer(s) connected"},
                         {"peers", stats.peers}};
    worsen(net_status);
  }
  if (ctx->chain) {
    auto st = ctx->chain->status();
    std::string chain_status = st.running ? "ok" : "degraded";
    checks["chain"] = {
        {"status", chain_status},
        {"detail", st.running ? "following " + c.blockchain.network + " at block " + std::to_string(st.cursor_block)
                              : "not connected: " + (st.last_error.empty() ? std::string("starting") : st.last_error)}};
    worsen(chain_status);
  }
  json body = {{"status", overall}, {"checks", checks}, {"version", ctx->version}, {"node_id", c.node.id}};
  co_return api::json_response(overall == "unhealthy" ? 503 : 200, to_text(body));
}

awaitable<HttpResponse> live(WorkerApiContext*, HttpRequest) {
  co_return api::json_response(200, R"({"status":"ok"})");
}

awaitable<HttpResponse> ready(WorkerApiContext* ctx, HttpRequest) {
  const auto& h = *ctx->health;
  if (h.reconciled && !h.stopping && h.engine_ok && h.database_ok)
    co_return api::json_response(200, R"({"status":"ready"})");
  json body = {{"status", "not_ready"},
               {"detail", h.stopping      ? "shutting down"
                          : !h.reconciled ? "starting: " + h.reconcile_detail
                          : !h.engine_ok  ? "engine: " + h.engine_detail
                                          : "database: " + h.database_detail}};
  co_return api::json_response(503, to_text(body));
}

awaitable<HttpResponse> metrics(WorkerApiContext* ctx, HttpRequest) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx->metrics->serialize();
  co_return r;
}

}  // namespace

std::optional<HttpResponse> precheck_request(const WorkerApiContext* ctx, const HttpRequest& headers_only) {
  if (headers_only.path.rfind("/api/", 0) == 0 && !authorized(ctx, headers_only)) return unauthorized();
  // A request announcing a body needs the token wherever it goes ("//api/...", "/health"):
  // nobody else can make the node read (or invite with 100 Continue) a body.
  const bool has_body = !headers_only.header("transfer-encoding").empty() ||
                        (!headers_only.header("content-length").empty() && headers_only.header("content-length") != "0");
  if (has_body && !authorized(ctx, headers_only)) return unauthorized();
  return std::nullopt;
}

void add_worker_routes(api::Router& router, WorkerApiContext* ctx) {
  router.add("GET", "/health", open_route(ctx, health));
  router.add("GET", "/health/live", open_route(ctx, live));
  router.add("GET", "/health/ready", open_route(ctx, ready));
  router.add("GET", "/metrics", open_route(ctx, metrics));
  router.add("POST", "/api/v1/jobs", authed(ctx, submit_job));
  router.add("GET", "/api/v1/jobs", authed(ctx, list_jobs));
  router.add("GET", "/api/v1/jobs/{id}", authed(ctx, get_job));
  router.add("DELETE", "/api/v1/jobs/{id}", authed(ctx, cancel_job));
  router.add("GET", "/api/v1/jobs/{id}/logs", authed(ctx, job_logs));
  router.add("GET", "/api/v1/jobs/{id}/result", authed(ctx, job_result));
  router.add("GET", "/api/v1/jobs/{id}/result/signature", authed(ctx, job_signature));
  router.add("GET", "/api/v1/jobs/{id}/outputs/{*path}", authed(ctx, job_output));
  router.add("GET", "/api/v1/node", authed(ctx, node_info));
  router.add("GET", "/api/v1/peers", authed(ctx, peers));
}

}  // namespace ciro::node
