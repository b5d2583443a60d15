#include "compute/docker_json.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>

#include "compute/docker_executor.h"

namespace ciro::compute {
namespace {

using nlohmann::json;

Result<json> parse_object(std::string_view body, std::string_view what) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::protocol, std::string(what) + ": reply is not JSON");
  if (!j.is_object()) return make_error(Errc::protocol, std::string(what) + ": reply is not a JSON object");
  return j;
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<std::string> string_member(const json& j, const char* key) {
  const json* m = member(j, key);
  if (m == nullptr || !m->is_string()) return std::nullopt;
  return m->get<std::string>();
}

std::optional<bool> bool_member(const json& j, const char* key) {
  const json* m = member(j, key);
  if (m == nullptr || !m->is_boolean()) return std::nullopt;
  return m->get<bool>();
}

std::optional<std::int64_t> int_member(const json& j, const char* key) {
  const json* m = member(j, key);
  if (m == nullptr || !m->is_number_integer()) return std::nullopt;
  return m->get<std::int64_t>();
}

int parse_digits(std::string_view s, std::size_t pos, std::size_t n, bool& ok) {
  int v = 0;
  if (pos + n > s.size()) {
    ok = false;
    return 0;
  }
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      ok = false;
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

nlohmann::json build_create_body(const ContainerSpec& spec) {
  json body = json::object();
  body["Image"] = spec.image;
  if (!spec.entrypoint.empty()) body["Entrypoint"] = spec.entrypoint;
  if (!spec.command.empty()) body["Cmd"] = spec.command;
  json env = json::array();
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  body["Env"] = env;
  if (!spec.workdir.empty()) body["WorkingDir"] = spec.workdir;
  body["Labels"] = {{LABEL_NODE, spec.node_id}, {LABEL_JOB, spec.job_id}};
  body["Tty"] = false;
  body["OpenStdin"] = false;
  body["AttachStdin"] = false;
  // /output: an anonymous volume. With ReadonlyRootfs the container cannot write anywhere else
  // that outlives it: a tmpfs mount is gone once the container stops (Podman 4.3 then archives
  // the empty image folder), while a volume stays mounted in the stopped container, so
  // GET /containers/{id}/archive?path=/output still reads it after exit. No host path is needed
  // (unlike a bind), and DELETE ?force=1&v=1 removes it with the container.
  body["Volumes"] = {{"/output", json::object()}};

  json host = json::object();
  host["Privileged"] = false;
  host["CapDrop"] = json::array({"ALL"});
  host["SecurityOpt"] = json::array({"no-new-privileges"});
  host["ReadonlyRootfs"] = true;
  host["Tmpfs"] = {{"/tmp", "rw,size=" + std::to_string(spec.tmpfs_bytes)}};
  host["NetworkMode"] = spec.network ? "bridge" : "none";
  if (spec.memory_bytes > 0) {
    host["Memory"] = spec.memory_bytes;
    host["MemorySwap"] = spec.memory_bytes;  // = Memory: no swap on top of the limit
  }
  if (spec.cpus > 0) host["NanoCpus"] = static_cast<std::int64_t>(std::llround(spec.cpus * 1e9));
  if (spec.pids_limit > 0) host["PidsLimit"] = spec.pids_limit;
  if (!spec.input_dir.empty()) host["Binds"] = json::array({spec.input_dir.string() + ":/input:ro"});
  if (!spec.gpu_device_ids.empty()) {
    host["DeviceRequests"] = json::array({{{"Driver", "nvidia"},
                                           {"DeviceIDs", spec.gpu_device_ids},
                                           {"Capabilities", json::array({json::array({"gpu"})})}}});
  }
  // Never restarted by the engine: a job runs once; the worker decides about retries.
  host["RestartPolicy"] = {{"Name", "no"}};
  body["HostConfig"] = host;
  return body;
}

Result<ContainerState> parse_inspect(std::string_view body) {
  CIRO_TRY(json j, parse_object(body, "container inspect"));
  const json* state = member(j, "State");
  if (state == nullptr || !state->is_object()) {
    return make_error(Errc::protocol, "container inspect: State missing or not an object");
  }
  ContainerState s;
  auto status = string_member(*state, "Status");
  auto running = bool_member(*state, "Running");
  auto code = int_member(*state, "ExitCode");
  if (!status) return make_error(Errc::protocol, "container inspect: State.Status missing or not a string");
  if (!running) return make_error(Errc::protocol, "container inspect: State.Running missing or not a boolean");
  if (!code) return make_error(Errc::protocol, "container inspect: State.ExitCode missing or not an integer");
  s.status = *status;
  s.running = *running;
  s.exit_code = static_cast<int>(*code);
  s.oom_killed = bool_member(*state, "OOMKilled").value_or(false);
  s.error = string_member(*state, "Error").value_or("");
  if (auto t = string_member(*state, "StartedAt")) s.started_at = parse_rfc3339(*t);
  if (auto t = string_member(*state, "FinishedAt")) s.finished_at = parse_rfc3339(*t);
  return s;
}

Result<std::vector<OwnedContainer>> parse_container_list(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return make_error(Errc::protocol, "container list: reply is not a JSON array");
  std::vector<OwnedContainer> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const json& c = j[i];
    auto id = string_member(c, "Id");
    if (!id) return make_error(Errc::protocol, "container list: [" + std::to_string(i) + "].Id missing or not a string");
    OwnedContainer oc;
    oc.container_id = *id;
    if (const json* labels = member(c, "Labels")) oc.job_id = string_member(*labels, LABEL_JOB).value_or("");
    oc.running = string_member(c, "State").value_or("") == "running";
    out.push_back(std::move(oc));
  }
  return out;
}

Result<EngineInfo> parse_version(std::string_view body) {
  CIRO_TRY(json j, parse_object(body, "engine version"));
  EngineInfo info;
  auto version = string_member(j, "Version");
  auto api = string_member(j, "ApiVersion");
  if (!version) return make_error(Errc::protocol, "engine version: Version missing or not a string");
  if (!api) return make_error(Errc::protocol, "engine version: ApiVersion missing or not a string");
  info.version = *version;
  info.api_version = *api;
  info.os = string_member(j, "Os").value_or("");
  return info;
}

Result<std::string> parse_create_reply(std::string_view body) {
  CIRO_TRY(json j, parse_object(body, "container create"));
  auto id = string_member(j, "Id");
  if (!id || id->empty()) return make_error(Errc::protocol, "container create: Id missing or not a string");
  return *id;
}

Result<int> parse_wait_reply(std::string_view body) {
  CIRO_TRY(json j, parse_object(body, "container wait"));
  auto code = int_member(j, "StatusCode");
  if (!code) return make_error(Errc::protocol, "container wait: StatusCode missing or not an integer");
  return static_cast<int>(*code);
}

std::string engine_message(std::string_view body) {
  std::string msg;
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) msg = string_member(j, "message").value_or("");
  if (msg.empty()) msg = std::string(body);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r' || msg.back() == ' ')) msg.pop_back();
  if (msg.size() > 500) msg = msg.substr(0, 500) + "...";
  return msg;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  // 2026-12-03T13:00:01.393595033Z
  bool ok = true;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int y = parse_digits(s, 0, 4, ok), mo = parse_digits(s, 5, 2, ok), d = parse_digits(s, 8, 2, ok);
  int h = parse_digits(s, 11, 2, ok), mi = parse_digits(s, 14, 2, ok), se = parse_digits(s, 17, 2, ok);
  if (!ok || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh = parse_digits(s, pos + 1, 2, ok), om = parse_digits(s, pos + 4, 2, ok);
    if (!ok) return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto tp = std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
            std::chrono::seconds{se} - std::chrono::minutes{offset_min};
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(tp + std::chrono::nanoseconds{nanos});
}

std::string url_encode(std::string_view text) {
  static const char* HEX = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(HEX[c >> 4]);
      out.push_back(HEX[c & 15]);
    }
  }
  return out;
}

bool valid_name_part(std::string_view s) {
  if (s.empty() || s.size() > 200 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace ciro::compute
