#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api/http_client.h"
#include "app/ciroctl.h"
#include "compute/manifest.h"
#include "compute/verify.h"

namespace ciro::app {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

api::ClientRequest make(const CtlOptions& o, std::string method, std::string target) {
  api::ClientRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  if (!o.token.empty()) r.headers["Authorization"] = "Bearer " + o.token;
  return r;
}

// Maps an HTTP reply to an exit code, printing the server's error message.
int report_error(const Result<api::ClientResponse>& r, const std::string& what) {
  if (!r.ok()) {
    std::cerr << "ciroctl: " << what << ": " << r.error().message << "\n";
    return API_ERROR;
  }
  std::string message = r->body;
  auto j = json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    message = j["error"].value("message", r->body);
    if (j["error"].contains("field")) message = j["error"]["field"].get<std::string>() + ": " + message;
  }
  std::cerr << "ciroctl: " << what << ": HTTP " << r->status << ": " << message << "\n";
  if (r->status == 401) return UNAUTHORIZED;
  if (r->status == 404) return NOT_FOUND;
  if (r->status >= 400 && r->status < 500) return USAGE;
  return API_ERROR;
}

bool ok_status(const Result<api::ClientResponse>& r) { return r.ok() && r->status >= 200 && r->status < 300; }

std::string short_job(const json& j) {
  std::ostringstream out;
  out << j.value("id", "?") << "  " << j.value("state", "?");
  if (j.contains("reason")) out << "  " << j.value("reason", "") << " (exit " << j.value("exit_code", -1) << ")";
  if (j.contains("duration_ms")) out << "  " << j["duration_ms"].get<std::int64_t>() << " ms";
  if (j.contains("spec") && j["spec"].is_object()) out << "  " << j["spec"].value("image", "");
  return out.str();
}

bool terminal(const std::string& state) { return state == "succeeded" || state == "failed" || state == "cancelled"; }

}  // namespace

int cmd_submit(const CtlOptions& o, const std::string& file, bool wait, double wait_timeout_s) {
  std::string body;
  if (file == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    body = ss.str();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "ciroctl: cannot read " << file << "\n";
      return USAGE;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  }
  auto req = make(o, "POST", "/api/v1/jobs");
  req.headers["Content-Type"] = "application/json";
  req.body = body;
  auto r = api::http_request(o.url, req);
  if (!ok_status(r)) return report_error(r, "submit");
  auto job = json::parse(r->body, nullptr, false);
  const std::string id = job.value("id", "");
  if (o.json && !wait)
    std::cout << r->body;
  else if (!wait)
    std::cout << id << "\n";
  if (!wait) return OK;

  std::cerr << "submitted " << id << "\n";
  auto start = std::chrono::steady_clock::now();
  std::string last_state;
  while (true) {
    auto s = api::http_request(o.url, make(o, "GET", "/api/v1/jobs/" + id));
    if (!ok_status(s)) return report_error(s, "status");
    job = json::parse(s->body, nullptr, false);
    std::string state = job.value("state", "");
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (state != last_state) {
      std::cerr << "[" << std::fixed;
      std::cerr.precision(1);
      std::cerr << elapsed << "s] " << id << " " << state << "\n";
      last_state = state;
    } else if (isatty(2)) {
      std::cerr << "\r[" << static_cast<int>(elapsed) << "s] " << state << "...   " << std::flush;
    }
    if (terminal(state)) break;
    if (wait_timeout_s > 0 && elapsed > wait_timeout_s) {
      std::cerr << "ciroctl: gave up waiting after " << wait_timeout_s << " s; the job goes on (ciroctl status " << id
                << ")\n";
      return API_ERROR;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (o.json)
    std::cout << job.dump() << "\n";
  else
    std::cout << short_job(job) << "\n";
  return job.value("state", "") == "succeeded" ? OK : JOB_FAILED;
}

int cmd_status(const CtlOptions& o, const std::string& id) {
  auto r = api::http_request(o.url, make(o, "GET", "/api/v1/jobs/" + id));
  if (!ok_status(r)) return report_error(r, "status");
  auto job = json::parse(r->body, nullptr, false);
  if (o.json)
    std::cout << job.dump(2) << "\n";
  else {
    std::cout << short_job(job) << "\n";
    if (job.contains("detail")) std::cout << "detail: " << job.value("detail", "") << "\n";
  }
  return OK;
}

int cmd_logs(const CtlOptions& o, const std::string& id, bool follow, const std::string& stream) {
  // Check the job first so an error reply is reported on stderr, never streamed to stdout.
  auto exists = api::http_request(o.url, make(o, "GET", "/api/v1/jobs/" + id));
  if (!ok_status(exists)) return report_error(exists, "logs");
  auto req = make(o, "GET", "/api/v1/jobs/" + id + "/logs?stream=" + stream + (follow ? "&follow=true" : ""));
  req.timeout = follow ? std::chrono::milliseconds(0) : std::chrono::milliseconds(30000);
  bool ok = true;
  req.on_chunk = [&](const std::string& piece) {
    if (!ok) return false;
    std::cout << piece << std::flush;
    return true;
  };
  auto r = api::http_request(o.url, req);
  if (!r.ok()) return report_error(r, "logs");
  return r->status == 200 ? OK : API_ERROR;
}

int cmd_result(const CtlOptions& o, const std::string& id, const std::string& out_dir, bool verify) {
  std::error_code ec;
  if (fs::exists(out_dir, ec) && (!fs::is_directory(out_dir, ec) || !fs::is_empty(out_dir, ec))) {
    std::cerr << "ciroctl: " << out_dir << " exists and is not an empty folder; give a new folder\n";
    return USAGE;
  }
  fs::create_directories(fs::path(out_dir) / compute::OUTPUTS_DIR, ec);
  if (ec) {
    std::cerr << "ciroctl: cannot create " << out_dir << ": " << ec.message() << "\n";
    return USAGE;
  }
  auto manifest = api::http_request(o.url, make(o, "GET", "/api/v1/jobs/" + id + "/result"));
  if (!ok_status(manifest)) return report_error(manifest, "result");
  auto sig = api::http_request(o.url, make(o, "GET", "/api/v1/jobs/" + id + "/result/signature"));
  if (!ok_status(sig)) return report_error(sig, "result signature");
  auto parsed = compute::parse_manifest(manifest->body);
  if (!parsed.ok()) {
    std::cerr << "ciroctl: the node sent a malformed manifest: " << parsed.error().message << "\n";
    return JOB_FAILED;
  }
  std::ofstream(fs::path(out_dir) / compute::MANIFEST_FILE, std::ios::binary) << manifest->body;
  std::ofstream(fs::path(out_dir) / compute::SIGNATURE_FILE, std::ios::binary) << sig->body;
  auto download = [&](const std::string& target, const fs::path& dest) -> int {
    std::error_code dir_ec;
    fs::create_directories(dest.parent_path(), dir_ec);
    std::ofstream out(dest, std::ios::binary);
    if (!out) {
      std::cerr << "ciroctl: cannot write " << dest.string() << "\n";
      return USAGE;
    }
    auto req = make(o, "GET", target);
    req.on_chunk = [&](const std::string& piece) {
      out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      return true;
    };
    auto r = api::http_request(o.url, req);
    if (!ok_status(r)) return report_error(r, "download " + target);
    return OK;
  };
  for (const auto& file : parsed->outputs) {
    // The manifest's paths were checked by parse_manifest (relative, no "..").
    std::string encoded;
    for (char c : file.path) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '.')
        encoded += c;
      else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        encoded += buf;
      }
    }
    if (int rc = download("/api/v1/jobs/" + id + "/outputs/" + encoded,
                          fs::path(out_dir) / compute::OUTPUTS_DIR / file.path))
      return rc;
  }
  if (int rc = download("/api/v1/jobs/" + id + "/logs?stream=stdout", fs::path(out_dir) / compute::STDOUT_FILE))
    return rc;
  if (int rc = download("/api/v1/jobs/" + id + "/logs?stream=stderr", fs::path(out_dir) / compute::STDERR_FILE))
    return rc;
  std::cout << "saved result of " << id << " in " << out_dir << " (" << parsed->outputs.size() << " output files)\n";
  if (!verify) return OK;
  return cmd_verify(out_dir, "");
}

int cmd_cancel(const CtlOptions& o, const std::string& id) {
  auto r = api::http_request(o.url, make(o, "DELETE", "/api/v1/jobs/" + id));
  if (!ok_status(r)) return report_error(r, "cancel");
  auto job = json::parse(r->body, nullptr, false);
  if (o.json)
    std::cout << job.dump() << "\n";
  else
    std::cout << short_job(job) << (job.value("cancel_requested", false) ? "  (cancel requested)" : "") << "\n";
  return OK;
}

int cmd_list(const CtlOptions& o, const std::string& state, int limit) {
  std::string target = "/api/v1/jobs?limit=" + std::to_string(limit);
  if (!state.empty()) target += "&state=" + state;
  auto r = api::http_request(o.url, make(o, "GET", target));
  if (!ok_status(r)) return report_error(r, "list");
  auto page = json::parse(r->body, nullptr, false);
  if (o.json) {
    std::cout << page.dump(2) << "\n";
    return OK;
  }
  for (const auto& j : page["jobs"]) std::cout << short_job(j) << "\n";
  return OK;
}

int cmd_node(const CtlOptions& o) {
  auto r = api::http_request(o.url, make(o, "GET", "/api/v1/node"));
  if (!ok_status(r)) return report_error(r, "node");
  auto n = json::parse(r->body, nullptr, false);
  if (o.json) {
    std::cout << n.dump(2) << "\n";
    return OK;
  }
  std::cout << "node     " << n.value("id", "") << "  version " << n.value("version", "") << "\n"
            << "peer id  " << n.value("peer_id", "") << "\n"
            << "engine   "
            << (n["engine"].value("ok", false) ? n["engine"].value("version", "")
                                               : "DOWN: " + n["engine"].value("detail", ""))
            << "\n"
            << "slots    " << n["slots"].value("running", 0) << " running, " << n["slots"].value("queued", 0)
            << " queued, max " << n["slots"].value("max_concurrent", 0) << "\n"
            << "gpus     " << n["gpus"].size()
            << (n.value("gpu_note", "").empty() ? "" : " (" + n.value("gpu_note", "") + ")") << "\n";
  for (const auto& g : n["gpus"]) {
    std::cout << "  [" << g.value("index", 0) << "] " << g.value("name", "") << " " << g.value("uuid", "") << " "
              << g.value("memory_total_bytes", 0ull) / (1ull << 20) << " MiB"
              << (g.value("offered", false) ? "" : " (not offered)") << "\n";
  }
  return OK;
}

int cmd_verify(const std::string& dir, const std::string& key) {
  auto r = compute::verify_result_dir(dir, key.empty() ? std::nullopt : std::optional<std::string>(key));
  if (!r.ok()) {
    std::cerr << "VERIFICATION FAILED for " << dir << ": " << r.error().message << "\n";
    std::error_code ec;
    return std::filesystem::is_directory(dir, ec) ? JOB_FAILED : USAGE;
  }
  std::cout << "verified: job " << r->manifest.job_id << " (" << r->manifest.reason << ", exit "
            << r->manifest.exit_code << ") signed by " << r->signature.peer_id << "; " << r->files_checked << " files, "
            << r->bytes_hashed << " bytes hashed\n";
  return OK;
}

}  // namespace ciro::app
