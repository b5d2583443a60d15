#include "compute/job_spec.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>

#include "utils/encoding.h"
#include "utils/json_keys.h"
#include "utils/units.h"

namespace ciro::compute {

using nlohmann::json;

namespace {

struct Fail {
  SpecError error;
};

[[noreturn]] void fail(std::string field, std::string message) { throw Fail{{std::move(field), std::move(message)}}; }

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

void only_fields(const json& obj, const std::string& where, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : obj.items()) {
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(where.empty() ? k : where + "." + k, "unknown field; allowed fields here: " + list);
    }
  }
}

std::string get_string(const json& v, const std::string& field, std::size_t max_len) {
  if (!v.is_string()) fail(field, std::string("expected a string, got ") + type_name(v));
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max_len) fail(field, "longer than " + std::to_string(max_len) + " bytes");
  if (s.find('\0') != std::string::npos) fail(field, "must not contain NUL characters");
  return s;
}

std::vector<std::string> get_string_array(const json& v, const std::string& field, std::size_t max_items) {
  if (!v.is_array()) fail(field, std::string("expected an array of strings, got ") + type_name(v));
  if (v.size() > max_items) fail(field, "more than " + std::to_string(max_items) + " items");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(get_string(v[i], field + "[" + std::to_string(i) + "]", 64 * 1024));
  return out;
}

std::uint64_t get_size(const json& v, const std::string& field) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) fail(field, "must not be negative");
  if (v.is_string()) {
    auto r = utils::parse_size(v.get_ref<const std::string&>());
    if (!r.ok()) fail(field, r.error().message);
    return *r;
  }
  fail(field, std::string("expected a size such as \"256MiB\" or a number of bytes, got ") + type_name(v));
}

std::chrono::milliseconds get_duration(const json& v, const std::string& field) {
  if (v.is_number_unsigned()) return std::chrono::seconds(std::min<std::uint64_t>(v.get<std::uint64_t>(), 1ull << 40));
  if (v.is_number_integer() || (v.is_number_float() && v.get<double>() < 0)) fail(field, "must not be negative");
  if (v.is_number_float())
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(v.get<double>(), 1e12) * 1000));
  if (v.is_string()) {
    auto r = utils::parse_duration(v.get_ref<const std::string&>());
    if (!r.ok()) fail(field, r.error().message);
    return *r;
  }
  fail(field, std::string("expected a duration such as \"30s\" or a number of seconds, got ") + type_name(v));
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return utils::to_hex({md, len});
}

JobSpec parse(const json& root, const JobLimits& limits, bool stored) {
  if (!root.is_object()) fail("", std::string("the job spec must be a JSON object, got ") + type_name(root));
  only_fields(root, "",
              {"api_version", "name", "image", "entrypoint", "command", "env", "workdir", "inputs", "resources",
               "timeout", "network", "verification", "reward", "chain_job_id"});
  JobSpec spec;
  if (!root.contains("api_version")) fail("api_version", std::string("required; use \"") + JOB_API_VERSION + "\"");
  spec.api_version = get_string(root["api_version"], "api_version", 64);
  if (spec.api_version != JOB_API_VERSION) {
    fail("api_version", "'" + spec.api_version + "' is not supported; use \"" + JOB_API_VERSION + "\"");
  }
  if (root.contains("name")) spec.name = get_string(root["name"], "name", 256);
  spec.image = root.contains("image") ? get_string(root["image"], "image", 512) : limits.default_image;
  if (spec.image.empty()) fail("image", "must not be empty (omit it to use the node's default image)");
  if (!is_valid_image_reference(spec.image)) {
    fail("image", "'" + spec.image +
                      "' is not an image reference: [registry[:port]/]name[:tag][@sha256:digest], "
                      "name in lowercase letters, digits and . _ - separators (e.g. ciro/busybox:latest)");
  }
  if (root.contains("entrypoint")) spec.entrypoint = get_string_array(root["entrypoint"], "entrypoint", 256);
  if (root.contains("command")) spec.command = get_string_array(root["command"], "command", 4096);
  if (root.contains("env")) {
    const auto& env = root["env"];
    if (!env.is_object()) fail("env", std::string("expected an object of strings, got ") + type_name(env));
    if (env.size() > 1024) fail("env", "more than 1024 variables");
    for (const auto& [k, v] : env.items()) {
      if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
        fail("env." + k, "a variable name must be non-empty without '=' or NUL");
      }
      spec.env[k] = get_string(v, "env." + k, 64 * 1024);
    }
  }
  if (root.contains("workdir")) {
    spec.workdir = get_string(root["workdir"], "workdir", 4096);
    if (!spec.workdir.empty() && spec.workdir[0] != '/')
      fail("workdir", "must be an absolute path inside the container");
  }
  if (root.contains("inputs")) {
    const auto& inputs = root["inputs"];
    if (!inputs.is_array()) fail("inputs", std::string("expected an array, got ") + type_name(inputs));
    if (inputs.size() > limits.max_input_files)
      fail("inputs", "more than " + std::to_string(limits.max_input_files) + " files");
    std::uint64_t total = 0;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::string f = "inputs[" + std::to_string(i) + "]";
      const auto& in = inputs[i];
      if (!in.is_object()) fail(f, std::string("expected an object, got ") + type_name(in));
      if (stored)
        only_fields(in, f, {"path", "size", "sha256"});
      else
        only_fields(in, f, {"path", "content", "content_base64"});
      if (!in.contains("path")) fail(f + ".path", "required");
      InputFile file;
      file.path = get_string(in["path"], f + ".path", 4096);
      if (!is_safe_relative_path(file.path)) {
        fail(f + ".path", "'" + file.path + "' must be a relative path without '..', '.' or empty segments");
      }
      if (!seen.insert(file.path).second) fail(f + ".path", "'" + file.path + "' is given twice");
      for (const auto& other : seen) {
        const bool is_parent = other.size() > file.path.size() && other.compare(0, file.path.size(), file.path) == 0 &&
                               other[file.path.size()] == '/';
        const bool is_child = file.path.size() > other.size() && file.path.compare(0, other.size(), other) == 0 &&
                              file.path[other.size()] == '/';
        if (is_parent || is_child) {
          fail(f + ".path", "'" + file.path + "' and '" + other + "' clash: one would be a file and a folder at once");
        }
      }
      if (stored) {
        // Stored specs carry digests only; the bytes are already in the job's input folder.
        file.content.clear();
      } else if (in.contains("content") == in.contains("content_base64")) {
        fail(f, "give exactly one of content (text) or content_base64");
      } else if (in.contains("content")) {
        file.content = get_string(in["content"], f + ".content", limits.max_input + 1);
      } else {
        auto decoded =
            utils::base64_decode(get_string(in["content_base64"], f + ".content_base64", limits.max_input * 4 / 3 + 8));
        if (!decoded) fail(f + ".content_base64", "not valid base64 (standard alphabet with padding)");
        file.content.assign(decoded->begin(), decoded->end());
      }
      total += file.content.size();
      if (total > limits.max_input) {
        fail(f, "inputs exceed the node's limit of " + utils::format_size(limits.max_input) +
                    " (executor.max_input_size)");
      }
      spec.inputs.push_back(std::move(file));
    }
  }
  spec.cpus = limits.default_cpus;
  spec.memory_bytes = limits.default_memory;
  spec.pids = limits.default_pids;
  spec.max_output_bytes = limits.max_output;
  if (root.contains("resources")) {
    const auto& r = root["resources"];
    if (!r.is_object()) fail("resources", std::string("expected an object, got ") + type_name(r));
    only_fields(r, "resources", {"cpus", "memory", "gpus", "gpu_memory", "pids", "disk"});
    if (r.contains("cpus")) {
      if (!r["cpus"].is_number()) fail("resources.cpus", std::string("expected a number, got ") + type_name(r["cpus"]));
      spec.cpus = r["cpus"].get<double>();
      if (!(spec.cpus >= 0.01 && spec.cpus <= limits.max_cpus)) {
        char max[32];
        std::snprintf(max, sizeof max, "%g", limits.max_cpus);
        fail("resources.cpus", std::string("must be from 0.01 to ") + max + " (executor.max_cpus)");
      }
    }
    if (r.contains("memory")) {
      spec.memory_bytes = get_size(r["memory"], "resources.memory");
      if (spec.memory_bytes < (6ull << 20) || spec.memory_bytes > limits.max_memory) {
        fail("resources.memory", utils::format_size(spec.memory_bytes) + " is outside 6MiB.." +
                                     utils::format_size(limits.max_memory) + " (executor.max_memory)");
      }
    }
    if (r.contains("pids")) {
      const auto& p = r["pids"];
      if (!p.is_number_integer()) fail("resources.pids", std::string("expected an integer, got ") + type_name(p));
      spec.pids = p.get<std::int64_t>();
      if (spec.pids < 8 || spec.pids > limits.max_pids) {
        fail("resources.pids", "must be from 8 to " + std::to_string(limits.max_pids) + " (executor.max_pids)");
      }
    }
    if (r.contains("gpus")) {
      const auto& g = r["gpus"];
      if (!g.is_number_integer()) fail("resources.gpus", std::string("expected an integer, got ") + type_name(g));
      auto n = g.get<std::int64_t>();
      if (n < 0 || n > static_cast<std::int64_t>(limits.max_gpus)) {
        fail("resources.gpus", "must be from 0 to " + std::to_string(limits.max_gpus) + " (executor.max_gpus_per_job)");
      }
      spec.gpus = static_cast<unsigned>(n);
    }
    if (r.contains("gpu_memory")) spec.gpu_memory_bytes = get_size(r["gpu_memory"], "resources.gpu_memory");
    if (spec.gpu_memory_bytes > 0 && spec.gpus == 0) fail("resources.gpu_memory", "needs resources.gpus of at least 1");
    if (r.contains("disk")) {
      spec.max_output_bytes = get_size(r["disk"], "resources.disk");
      if (spec.max_output_bytes == 0 || spec.max_output_bytes > limits.max_output) {
        fail("resources.disk",
             "must be above 0 and at most " + utils::format_size(limits.max_output) + " (executor.max_output_size)");
      }
    }
  }
  spec.timeout = limits.default_timeout;
  if (root.contains("timeout")) {
    spec.timeout = get_duration(root["timeout"], "timeout");
    if (spec.timeout < std::chrono::milliseconds(100) || spec.timeout > limits.max_timeout) {
      fail("timeout",
           "must be from 100ms to " + utils::format_duration(limits.max_timeout) + " (executor.max_timeout)");
    }
  }
  if (root.contains("network")) {
    auto mode = get_string(root["network"], "network", 32);
    if (mode == "none")
      spec.network = false;
    else if (mode == "bridge")
      spec.network = true;
    else
      fail("network", "'" + mode + "' is not allowed: use \"none\" or \"bridge\"");
    if (spec.network && !limits.allow_network)
      fail("network", "this node does not allow network access (executor.allow_network)");
  }
  if (root.contains("verification")) {
    const auto& v = root["verification"];
    if (!v.is_object()) fail("verification", std::string("expected an object, got ") + type_name(v));
    only_fields(v, "verification", {"policy", "replicas"});
    if (v.contains("policy")) {
      spec.verification = get_string(v["policy"], "verification.policy", 32);
      if (spec.verification != "none" && spec.verification != "hash" && spec.verification != "redundant") {
        fail("verification.policy", "'" + spec.verification + "' is not allowed: use none, hash or redundant");
      }
    }
    if (v.contains("replicas")) {
      if (!v["replicas"].is_number_integer() || v["replicas"].get<std::int64_t>() < 1 ||
          v["replicas"].get<std::int64_t>() > 16) {
        fail("verification.replicas", "expected an integer from 1 to 16");
      }
      spec.replicas = static_cast<unsigned>(v["replicas"].get<std::int64_t>());
    }
  }
  if (root.contains("reward")) {
    if (root["reward"].is_number_unsigned())
      spec.reward = std::to_string(root["reward"].get<std::uint64_t>());
    else if (root["reward"].is_number())
      fail("reward", "expected a non-negative integer, in decimal or 0x hex");
    else {
      spec.reward = get_string(root["reward"], "reward", 80);
      bool hex = spec.reward.size() > 2 && spec.reward.rfind("0x", 0) == 0 &&
                 std::all_of(spec.reward.begin() + 2, spec.reward.end(), ::isxdigit);
      bool dec = !spec.reward.empty() && std::all_of(spec.reward.begin(), spec.reward.end(), ::isdigit);
      if (!hex && !dec) fail("reward", "expected a non-negative integer, in decimal or 0x hex");
    }
  }
  if (root.contains("chain_job_id")) {
    spec.chain_job_id = get_string(root["chain_job_id"], "chain_job_id", 66);
    const auto& id = spec.chain_job_id;
    bool hex =
        id.size() > 2 && id.size() <= 66 && id.rfind("0x", 0) == 0 && std::all_of(id.begin() + 2, id.end(), ::isxdigit);
    if (!hex) fail("chain_job_id", "expected the JobManager job id as 0x followed by 1 to 64 hex digits");
  }
  return spec;
}

}  // namespace

bool is_valid_image_reference(std::string_view ref) {
  // The Docker reference grammar (distribution/reference): optional registry host, lowercase
  // path components, optional tag, optional digest.
  static const std::regex pattern(
      R"(^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)/)?)"
      R"([a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*)"
      R"((?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$)");
  if (ref.empty() || ref.size() > 255) return false;
  return std::regex_match(ref.begin(), ref.end(), pattern);
}

bool is_safe_relative_path(std::string_view path) {
  if (path.empty() || path.size() > 4096 || path.front() == '/' || path.find('\0') != std::string_view::npos)
    return false;
  std::size_t start = 0;
  while (true) {
    auto slash = path.find('/', start);
    auto seg = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.size() > 255) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

SpecParse parse_job_spec(std::string_view body, const JobLimits& limits, bool stored) {
  SpecParse out;
  json root;
  utils::DuplicateKeyCheck keys;
  try {
    root = json::parse(body.begin(), body.end(), keys.callback());
  } catch (const json::parse_error& e) {
    // nlohmann's text: "... parse error at line L, column C: syntax error while parsing value -
    // invalid string: ill-formed UTF-8 byte; last read: ..." keep the reason, not the bytes read.
    std::string reason = e.what();
    if (auto at = reason.find("while parsing "); at != std::string::npos) reason = reason.substr(at + 14);
    if (auto last = reason.find("; last read"); last != std::string::npos) reason.resize(last);
    out.error = {"", "malformed JSON at byte " + std::to_string(e.byte) + " (" + reason +
                         "): the body must be a JSON object in UTF-8"};
    return out;
  } catch (const json::exception&) {  // out_of_range.406: a number beyond a double (1e400)
    out.error = {"", "a number in the body is out of range (beyond a 64-bit float)"};
    return out;
  }
  if (const std::string& twice = keys.duplicate(); !twice.empty()) {
    out.error = {twice, "key '" + twice.substr(0, 80) + "' appears twice in one object"};
    return out;
  }
  try {
    out.spec = parse(root, limits, stored);
  } catch (const Fail& f) {
    out.error = f.error;
  } catch (const json::exception& e) {
    out.error = {"", std::string("invalid job spec: ") + e.what()};
  }
  return out;
}

std::string canonical_spec_json(const JobSpec& spec) {
  json j;
  j["api_version"] = spec.api_version;
  if (!spec.name.empty()) j["name"] = spec.name;
  j["image"] = spec.image;
  if (!spec.entrypoint.empty()) j["entrypoint"] = spec.entrypoint;
  if (!spec.command.empty()) j["command"] = spec.command;
  if (!spec.env.empty()) j["env"] = spec.env;
  if (!spec.workdir.empty()) j["workdir"] = spec.workdir;
  if (!spec.inputs.empty()) {
    json inputs = json::array();
    for (const auto& in : spec.inputs) {
      inputs.push_back({{"path", in.path}, {"size", in.content.size()}, {"sha256", sha256_hex(in.content)}});
    }
    j["inputs"] = inputs;
  }
  json res = {{"cpus", spec.cpus}, {"memory", spec.memory_bytes}, {"pids", spec.pids}, {"disk", spec.max_output_bytes}};
  if (spec.gpus > 0) res["gpus"] = spec.gpus;
  if (spec.gpu_memory_bytes > 0) res["gpu_memory"] = spec.gpu_memory_bytes;
  j["resources"] = res;
  j["timeout"] = std::to_string(spec.timeout.count()) + "ms";
  j["network"] = spec.network ? "bridge" : "none";
  j["verification"] = {{"policy", spec.verification}, {"replicas", spec.replicas}};
  if (!spec.reward.empty()) j["reward"] = spec.reward;
  if (!spec.chain_job_id.empty()) j["chain_job_id"] = spec.chain_job_id;
  return j.dump();
}

}  // namespace ciro::compute
