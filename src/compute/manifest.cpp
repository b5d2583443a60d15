#include "compute/manifest.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "compute/hash.h"
#include "utils/encoding.h"

namespace ciro::compute {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 7> REASONS = {"exited",       "timeout",        "out_of_memory", "cancelled",
                                                     "engine_error", "node_restarted", "disk_limit"};

// Compact dump; std::map-backed objects give bytewise-sorted keys. Invalid UTF-8 becomes U+FFFD
// instead of throwing, so a container's odd error text can never stop a result being signed.
std::string dump_canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json digest_json(const FileDigest& d) {
  return json{{"path", d.path}, {"sha256", d.sha256}, {"size", d.size}};
}

bool is_lower_hex(std::string_view s, std::size_t len) {
  return s.size() == len &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Error field_error(const std::string& field, const std::string& what) {
  return make_error(Errc::invalid_argument, field + ": " + what);
}

// Checks obj is an object holding exactly `names`; the error names the first missing or unknown one.
Result<void> check_fields(const json& obj, const std::string& ctx, std::initializer_list<const char*> names) {
  if (!obj.is_object()) return field_error(ctx, "expected an object");
  std::set<std::string_view> allowed(names.begin(), names.end());
  for (const char* n : names) {
    if (!obj.contains(n)) return field_error(ctx + "." + n, "missing");
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key())) return field_error(ctx + "." + it.key(), "unknown field");
  }
  return {};
}

Result<std::string> get_string(const json& obj, const std::string& ctx, const char* name) {
  const json& v = obj.at(name);
  if (!v.is_string()) return field_error(ctx + "." + name, "expected a string");
  return v.get<std::string>();
}

Result<std::uint64_t> get_u64(const json& obj, const std::string& ctx, const char* name) {
  const json& v = obj.at(name);
  if (!v.is_number_unsigned()) return field_error(ctx + "." + name, "expected an unsigned integer");
  return v.get<std::uint64_t>();
}

Result<int> get_int(const json& obj, const std::string& ctx, const char* name) {
  const json& v = obj.at(name);
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
      return field_error(ctx + "." + name, "integer out of range");
    }
    return static_cast<int>(u);
  }
  if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    if (i < std::numeric_limits<int>::min()) return field_error(ctx + "." + name, "integer out of range");
    return static_cast<int>(i);
  }
  return field_error(ctx + "." + name, "expected an integer");
}

Result<bool> get_bool(const json& obj, const std::string& ctx, const char* name) {
  const json& v = obj.at(name);
  if (!v.is_boolean()) return field_error(ctx + "." + name, "expected true or false");
  return v.get<bool>();
}

// A path that, joined under a result folder, stays inside it.
bool is_safe_relative_path(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  if (p.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view seg = p.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

Result<FileDigest> parse_digest(const json& obj, const std::string& ctx) {
  CIRO_TRY_VOID(check_fields(obj, ctx, {"path", "sha256", "size"}));
  FileDigest d;
  CIRO_TRY(d.path, get_string(obj, ctx, "path"));
  CIRO_TRY(d.size, get_u64(obj, ctx, "size"));
  CIRO_TRY(d.sha256, get_string(obj, ctx, "sha256"));
  if (!is_lower_hex(d.sha256, 64)) return field_error(ctx + ".sha256", "expected 64 lowercase hex digits");
  return d;
}

bool is_rfc3339_utc_ms(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (s.size() != shape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) return false;
  }
  return true;
}

}  // namespace

bool is_valid_reason(std::string_view reason) {
  return std::find(REASONS.begin(), REASONS.end(), reason) != REASONS.end();
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned c = b[i];
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      unsigned cc = b[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t MIN[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < MIN[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string rfc3339_utc_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  long milli = static_cast<long>(ms % 1000);
  if (milli < 0) {
    milli += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
  return buf;
}

std::string canonical_json(const ResultManifest& m) {
  json outputs = json::array();
  for (const FileDigest& d : m.outputs) outputs.push_back(digest_json(d));
  json j = {
      {"version", m.version},
      {"job_id", m.job_id},
      {"node_id", m.node_id},
      {"peer_id", m.peer_id},
      {"image", m.image},
      {"spec_sha256", m.spec_sha256},
      {"exit_code", m.exit_code},
      {"reason", m.reason},
      {"detail", m.detail},
      {"started_at", m.started_at},
      {"finished_at", m.finished_at},
      {"duration_ms", m.duration_ms},
      {"outputs", std::move(outputs)},
      {"stdout_log", digest_json(m.stdout_log)},
      {"stderr_log", digest_json(m.stderr_log)},
      {"output_truncated", m.output_truncated},
      {"logs_truncated", m.logs_truncated},
  };
  return dump_canonical(j);
}

Result<ResultManifest> parse_manifest(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::invalid_argument, "manifest: not valid JSON");
  const std::string ctx = "manifest";
  CIRO_TRY_VOID(check_fields(j, ctx,
                             {"version", "job_id", "node_id", "peer_id", "image", "spec_sha256", "exit_code",
                              "reason", "detail", "started_at", "finished_at", "duration_ms", "outputs",
                              "stdout_log", "stderr_log", "output_truncated", "logs_truncated"}));
  ResultManifest m;
  CIRO_TRY(m.version, get_int(j, ctx, "version"));
  if (m.version != 1) return field_error(ctx + ".version", "unsupported version " + std::to_string(m.version) + " (expected 1)");
  CIRO_TRY(m.job_id, get_string(j, ctx, "job_id"));
  CIRO_TRY(m.node_id, get_string(j, ctx, "node_id"));
  CIRO_TRY(m.peer_id, get_string(j, ctx, "peer_id"));
  CIRO_TRY(m.image, get_string(j, ctx, "image"));
  CIRO_TRY(m.spec_sha256, get_string(j, ctx, "spec_sha256"));
  if (!m.spec_sha256.empty() && !is_lower_hex(m.spec_sha256, 64)) {
    return field_error(ctx + ".spec_sha256", "expected 64 lowercase hex digits");
  }
  CIRO_TRY(m.exit_code, get_int(j, ctx, "exit_code"));
  CIRO_TRY(m.reason, get_string(j, ctx, "reason"));
  if (!is_valid_reason(m.reason)) {
    return field_error(ctx + ".reason", "\"" + m.reason +
                                            "\" is not one of exited|timeout|out_of_memory|cancelled|engine_error|node_restarted|disk_limit");
  }
  CIRO_TRY(m.detail, get_string(j, ctx, "detail"));
  CIRO_TRY(m.started_at, get_string(j, ctx, "started_at"));
  if (!is_rfc3339_utc_ms(m.started_at)) return field_error(ctx + ".started_at", "expected YYYY-MM-DDTHH:MM:SS.mmmZ");
  CIRO_TRY(m.finished_at, get_string(j, ctx, "finished_at"));
  if (!is_rfc3339_utc_ms(m.finished_at)) return field_error(ctx + ".finished_at", "expected YYYY-MM-DDTHH:MM:SS.mmmZ");
  CIRO_TRY(m.duration_ms, get_u64(j, ctx, "duration_ms"));
  const json& outputs = j.at("outputs");
  if (!outputs.is_array()) return field_error(ctx + ".outputs", "expected an array");
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    std::string c = ctx + ".outputs[" + std::to_string(i) + "]";
    CIRO_TRY(FileDigest d, parse_digest(outputs[i], c));
    if (!is_safe_relative_path(d.path)) {
      return field_error(c + ".path", "\"" + d.path + "\" is not a relative path without empty, . or .. segments");
    }
    if (!m.outputs.empty() && !(m.outputs.back().path < d.path)) {
      return field_error(c + ".path", "\"" + d.path + "\" is out of order or repeated (outputs are sorted by path)");
    }
    m.outputs.push_back(std::move(d));
  }
  CIRO_TRY(m.stdout_log, parse_digest(j.at("stdout_log"), ctx + ".stdout_log"));
  if (m.stdout_log.path != "stdout") return field_error(ctx + ".stdout_log.path", "expected \"stdout\"");
  CIRO_TRY(m.stderr_log, parse_digest(j.at("stderr_log"), ctx + ".stderr_log"));
  if (m.stderr_log.path != "stderr") return field_error(ctx + ".stderr_log.path", "expected \"stderr\"");
  CIRO_TRY(m.output_truncated, get_bool(j, ctx, "output_truncated"));
  CIRO_TRY(m.logs_truncated, get_bool(j, ctx, "logs_truncated"));
  return m;
}

Result<std::vector<FileDigest>> hash_output_tree(const std::filesystem::path& dir, std::vector<std::string>* skipped) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto st = fs::symlink_status(dir, ec);
  if (ec || !fs::is_directory(st)) {
    return make_error(ec && ec != std::errc::no_such_file_or_directory ? Errc::io : Errc::not_found,
                      dir.string() + ": not a directory" + (ec ? ": " + ec.message() : std::string()));
  }
  std::vector<FileDigest> out;
  // directory_options::none: symlinked directories are not followed.
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return make_error(Errc::io, dir.string() + ": cannot list: " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return make_error(Errc::io, dir.string() + ": cannot list: " + ec.message());
    const fs::directory_entry& entry = *it;
    std::string rel = entry.path().lexically_relative(dir).generic_string();
    auto s = entry.symlink_status(ec);
    if (ec) return make_error(Errc::io, entry.path().string() + ": " + ec.message());
    if (fs::is_directory(s)) continue;
    if (!fs::is_regular_file(s) || !is_valid_utf8(rel)) {
      if (skipped) skipped->push_back(rel);
      continue;
    }
    std::uint64_t size = 0;
    CIRO_TRY(std::string digest, sha256_file(entry.path(), &size));
    out.push_back(FileDigest{std::move(rel), size, std::move(digest)});
  }
  if (ec) return make_error(Errc::io, dir.string() + ": cannot list: " + ec.message());
  std::sort(out.begin(), out.end(), [](const FileDigest& a, const FileDigest& b) { return a.path < b.path; });
  if (skipped) std::sort(skipped->begin(), skipped->end());
  return out;
}

SignedManifest sign_manifest(const ResultManifest& manifest, const utils::NodeKey& key) {
  SignedManifest s;
  s.manifest_json = canonical_json(manifest);
  std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(s.manifest_json.data()),
                                      s.manifest_json.size());
  s.manifest_sha256 = sha256_hex(bytes);
  auto sig = key.sign(bytes);
  s.signature_hex = utils::to_hex(sig);
  s.public_key_hex = utils::to_hex(key.public_key());
  s.peer_id = key.peer_id();
  return s;
}

std::string signature_file_json(const SignedManifest& s) {
  json j = {{"manifest_sha256", s.manifest_sha256},
            {"signature", s.signature_hex},
            {"public_key", s.public_key_hex},
            {"peer_id", s.peer_id}};
  return dump_canonical(j);
}

Result<SignedManifest> parse_signature_file(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::invalid_argument, "manifest.sig.json: not valid JSON");
  const std::string ctx = "manifest.sig.json";
  CIRO_TRY_VOID(check_fields(j, ctx, {"manifest_sha256", "signature", "public_key", "peer_id"}));
  SignedManifest s;
  CIRO_TRY(s.manifest_sha256, get_string(j, ctx, "manifest_sha256"));
  if (!is_lower_hex(s.manifest_sha256, 64)) return field_error(ctx + ".manifest_sha256", "expected 64 lowercase hex digits");
  CIRO_TRY(s.signature_hex, get_string(j, ctx, "signature"));
  if (!is_lower_hex(s.signature_hex, 128)) return field_error(ctx + ".signature", "expected 128 lowercase hex digits");
  CIRO_TRY(s.public_key_hex, get_string(j, ctx, "public_key"));
  if (!is_lower_hex(s.public_key_hex, 64)) return field_error(ctx + ".public_key", "expected 64 lowercase hex digits");
  CIRO_TRY(s.peer_id, get_string(j, ctx, "peer_id"));
  if (s.peer_id.empty()) return field_error(ctx + ".peer_id", "must not be empty");
  return s;
}

}  // namespace ciro::compute
