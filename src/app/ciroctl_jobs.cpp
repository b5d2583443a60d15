#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api/http_client.h"
#include "app/ciroctl.h"
#include "compute/manifest.h"
#include "compute/verify.h"
#include "utils/encoding.h"
#include "utils/identity.h"

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

// Percent-encodes everything but unreserved characters (and '/' when keep_slash), so that no
// text reaches a request target unencoded.
std::string percent_encode(const std::string& text, bool keep_slash) {
  std::string encoded;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      encoded += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      encoded += buf;
    }
  }
  return encoded;
}

// The job's route; callers have checked the id (job_id_problem), the encoding is a second guard.
std::string job_path(const std::string& id) { return "/api/v1/jobs/" + percent_encode(id, false); }

// Prints the job id's problem, if any; true when the id may be sent.
bool accept_job_id(const std::string& id) {
  const std::string problem = job_id_problem(id);
  if (problem.empty()) return true;
  std::cerr << "ciroctl: " << problem << "\n";
  return false;
}

// Reads the job spec (a file, a pipe such as <(...), or "-" for stdin) and checks that it is a
// JSON object, so that a wrong path or a broken file is a local error naming the file instead of
// a JSON error from the node. Errors: invalid_argument with the message to print.
Result<std::string> read_spec(const std::string& file) {
  const std::string name = file == "-" ? "the job spec on stdin" : "job spec " + file;
  std::string body;
  if (file == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    body = ss.str();
  } else {
    std::error_code ec;
    const auto st = fs::status(file, ec);
    if (st.type() == fs::file_type::not_found) {
      return Error(Errc::invalid_argument, name + ": no such file; give a job spec JSON file, or - for stdin");
    }
    if (ec) return Error(Errc::invalid_argument, name + ": " + ec.message());
    if (fs::is_directory(st)) {
      return Error(Errc::invalid_argument, name + ": is a directory; give a job spec JSON file, or - for stdin");
    }
    // A pipe is fine: `ciroctl submit <(make-spec)` reads one.
    if (!fs::is_regular_file(st) && !fs::is_fifo(st)) {
      return Error(Errc::invalid_argument, name + ": not a regular file; give a job spec JSON file, or - for stdin");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) return Error(Errc::invalid_argument, name + ": cannot read: " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Error(Errc::invalid_argument, name + ": read failed: " + std::strerror(errno));
    body = ss.str();
  }
  try {
    if (!json::parse(body).is_object()) {
      return Error(Errc::invalid_argument, name +
                                               ": not a JSON object; a job spec is an object such as "
                                               "{\"image\": \"alpine:3.20\", \"command\": [\"echo\", \"hi\"]}");
    }
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at line 1, ..."
    if (auto end = what.find("] "); what.rfind("[json.", 0) == 0 && end != std::string::npos) what.erase(0, end + 2);
    return Error(Errc::invalid_argument, name + ": not valid JSON: " + what);
  }
  return body;
}

// Maps an HTTP reply to an exit code, printing the server's error message.
int report_error(const Result<api::ClientResponse>& r, const std::string& what) {
  if (!r.ok()) {
    std::cerr << "ciroctl: " << what << ": " << r.error().message << "\n";
    // invalid_argument is the client refusing our own input (the URL): bad usage, not unreachable.
    return r.error().code == Errc::invalid_argument ? USAGE : API_ERROR;
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

std::string url_problem(const std::string& url) {
  const std::string example = "give http://HOST:PORT, e.g. http://127.0.0.1:8080";
  if (url.empty()) return "empty; " + example;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "contains a space or control character; " + example;
  }
  const auto sep = url.find("://");
  if (sep == std::string::npos) return "not a URL; " + example;
  std::string scheme = url.substr(0, sep);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "https") {
    // The blocking client (api/http_client) has no TLS, and neither has the node's API.
    return "ciroctl speaks plain HTTP only, like the node's API; use http:// on a trusted network, or reach a "
           "remote node through an ssh tunnel (ssh -N -L 8080:127.0.0.1:8080 NODE, then --url "
           "http://127.0.0.1:8080) or a TLS proxy that you run beside ciroctl (e.g. stunnel in client mode)";
  }
  if (scheme != "http") return "scheme '" + url.substr(0, sep) + "://' is not supported; " + example;
  if (url.compare(0, 7, "http://") != 0) return "write the scheme in lower case, http://; " + example;
  const std::string rest = url.substr(7);
  if (rest.find_first_of("?#") != std::string::npos) return "must not hold a query or fragment (? or #); " + example;
  const std::string hostport = rest.substr(0, rest.find('/'));
  if (hostport.find('@') != std::string::npos) {
    return "a user in the URL (USER@HOST) is not supported; pass the token with --token or --token-file";
  }
  std::string host = hostport, port;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string::npos) return "has '[' without ']'; an IPv6 host looks like http://[::1]:8080";
    host = hostport.substr(1, close - 1);
    const std::string after = hostport.substr(close + 1);
    if (!after.empty() && after.front() != ':') return "has text after ']' that is not :PORT; " + example;
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else if (const auto colon = hostport.find(':'); colon != std::string::npos) {
    if (hostport.find(':', colon + 1) != std::string::npos) {
      return "has more than one ':' in the host; put an IPv6 address in brackets: http://[::1]:8080";
    }
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return "has no host; " + example;
  if (has_port) {
    const bool digits = !port.empty() && port.size() <= 5 &&
                        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return "port '" + port + "' is not a number from 1 to 65535; " + example;
    }
  }
  return "";
}

std::string job_id_problem(const std::string& id) {
  // The node's own rule (valid_job_id in node/worker_api.cpp); the ids it makes have 28 digits.
  const std::string allowed =
      "a job id is 1 to 64 lowercase hex digits (0-9, a-f), as printed by `ciroctl submit` and `ciroctl list`";
  if (id.empty()) return "the job id is empty; " + allowed;
  if (id.size() > 64) return "job id '" + id + "' is " + std::to_string(id.size()) + " characters long; " + allowed;
  const bool hex =
      std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!hex) return "'" + id + "' is not a job id; " + allowed;
  const bool lower =
      std::none_of(id.begin(), id.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
  if (!lower) return "job id '" + id + "' has upper-case letters; " + allowed;
  return "";
}

std::string verify_key_problem(const std::string& key) {
  // The two forms compute::verify_result_dir compares with: 64 hex digits (0x optional), else a peer id.
  const std::string hex = key.rfind("0x", 0) == 0 ? key.substr(2) : key;
  if (hex.size() == 64 && utils::from_hex(hex).has_value()) return "";
  if (utils::ed25519_from_peer_id(key).ok()) return "";
  return "--key '" + key + "' is neither a hex Ed25519 public key (64 hex digits, 0x optional: public_key in " +
         compute::SIGNATURE_FILE + " or `ciroctl node --json`) nor an Ed25519 peer id (12D3KooW..., as " +
         "`ciroctl node` prints)";
}

int cmd_submit(const CtlOptions& o, const std::string& file, bool wait, double wait_timeout_s) {
  auto body = read_spec(file);
  if (!body.ok()) {
    std::cerr << "ciroctl: " << body.error().message << "\n";
    return USAGE;
  }
  auto req = make(o, "POST", "/api/v1/jobs");
  req.headers["Content-Type"] = "application/json";
  req.body = std::move(*body);
  auto r = api::http_request(o.url, req);
  if (!ok_status(r)) return report_error(r, "submit");
  auto job = json::parse(r->body, nullptr, false);
  const std::string id =
      job.is_object() && job.contains("id") && job["id"].is_string() ? job["id"].get<std::string>() : "";
  if (!job_id_problem(id).empty()) {
    std::cerr << "ciroctl: submit: the node answered HTTP " << r->status << " without a valid job id: " << r->body
              << "\n";
    return API_ERROR;
  }
  if (o.json && !wait)
    std::cout << r->body;
  else if (!wait)
    std::cout << id << "\n";
  if (!wait) return OK;

  std::cerr << "submitted " << id << "\n";
  auto start = std::chrono::steady_clock::now();
  std::string last_state;
  while (true) {
    auto s = api::http_request(o.url, make(o, "GET", job_path(id)));
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
  if (!accept_job_id(id)) return USAGE;
  auto r = api::http_request(o.url, make(o, "GET", job_path(id)));
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
  if (!accept_job_id(id)) return USAGE;
  // Check the job first so an error reply is reported on stderr, never streamed to stdout.
  auto exists = api::http_request(o.url, make(o, "GET", job_path(id)));
  if (!ok_status(exists)) return report_error(exists, "logs");
  auto req =
      make(o, "GET", job_path(id) + "/logs?stream=" + percent_encode(stream, false) + (follow ? "&follow=true" : ""));
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
  if (!accept_job_id(id)) return USAGE;
  std::error_code ec;
  if (fs::exists(out_dir, ec) && (!fs::is_directory(out_dir, ec) || !fs::is_empty(out_dir, ec))) {
    std::cerr << "ciroctl: " << out_dir << " exists and is not an empty folder; give a new folder\n";
    return USAGE;
  }
  // Manifest and signature before the folder is made, so that a wrong id leaves nothing behind
  // to block the retry.
  auto manifest = api::http_request(o.url, make(o, "GET", job_path(id) + "/result"));
  if (!ok_status(manifest)) return report_error(manifest, "result");
  auto sig = api::http_request(o.url, make(o, "GET", job_path(id) + "/result/signature"));
  if (!ok_status(sig)) return report_error(sig, "result signature");
  auto parsed = compute::parse_manifest(manifest->body);
  if (!parsed.ok()) {
    std::cerr << "ciroctl: the node sent a malformed manifest: " << parsed.error().message << "\n";
    return JOB_FAILED;
  }
  fs::create_directories(fs::path(out_dir) / compute::OUTPUTS_DIR, ec);
  if (ec) {
    std::cerr << "ciroctl: cannot create " << out_dir << ": " << ec.message() << "\n";
    return USAGE;
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
    if (int rc = download(job_path(id) + "/outputs/" + percent_encode(file.path, true),
                          fs::path(out_dir) / compute::OUTPUTS_DIR / file.path))
      return rc;
  }
  if (int rc = download(job_path(id) + "/logs?stream=stdout", fs::path(out_dir) / compute::STDOUT_FILE)) return rc;
  if (int rc = download(job_path(id) + "/logs?stream=stderr", fs::path(out_dir) / compute::STDERR_FILE)) return rc;
  std::cout << "saved result of " << id << " in " << out_dir << " (" << parsed->outputs.size() << " output files)\n";
  if (!verify) return OK;
  return cmd_verify(out_dir, "");
}

int cmd_cancel(const CtlOptions& o, const std::string& id) {
  if (!accept_job_id(id)) return USAGE;
  auto r = api::http_request(o.url, make(o, "DELETE", job_path(id)));
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
  if (!state.empty()) target += "&state=" + percent_encode(state, false);
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
  if (!key.empty()) {
    if (const std::string problem = verify_key_problem(key); !problem.empty()) {
      std::cerr << "ciroctl: " << problem << "\n";
      return USAGE;
    }
  }
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
