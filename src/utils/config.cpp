#include "utils/config.h"

#include <arpa/inet.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <sstream>

#include "utils/log.h"
#include "utils/units.h"

extern char** environ;

namespace ciro::utils {

namespace {

// Where a value came from, for error messages: "config/dev.toml:12", "environment CIRO_X__Y", ...
struct Origin {
  std::string where;
};

using Setter = std::function<Result<void>(Config&, const toml::node&)>;
using Shower = std::function<std::string(const Config&)>;

struct KeySpec {
  std::string section;
  std::string key;
  std::string type;  // what is allowed, shown in errors and docs
  std::string help;
  bool secret = false;
  Setter set;
  Shower show;
};

std::string quote(const std::string& s) {
  std::ostringstream out;
  out << toml::value<std::string>(s);
  return out.str();
}

std::string show_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote(v[i]);
  return out + "]";
}

std::string show_double(double d) {
  std::ostringstream out;
  out << d;
  std::string s = out.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

Error type_error(const std::string& allowed) { return Error(Errc::invalid_argument, "expected " + allowed); }

// ---- typed setters ---------------------------------------------------------------------------

template <typename Get>
Setter set_string(Get get, std::function<Result<void>(const std::string&)> check = nullptr) {
  return [get, check](Config& c, const toml::node& n) -> Result<void> {
    auto v = n.value<std::string>();
    if (!v || !n.is_string()) return type_error("a string");
    if (check) CIRO_TRY_VOID(check(*v));
    get(c) = *v;
    return {};
  };
}

template <typename Get>
Setter set_bool(Get get) {
  return [get](Config& c, const toml::node& n) -> Result<void> {
    if (!n.is_boolean()) return type_error("true or false");
    get(c) = *n.value<bool>();
    return {};
  };
}

template <typename T, typename Get>
Setter set_int(Get get, std::int64_t lo, std::int64_t hi) {
  return [get, lo, hi](Config& c, const toml::node& n) -> Result<void> {
    if (!n.is_integer()) return type_error("an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    auto v = *n.value<std::int64_t>();
    if (v < lo || v > hi) {
      return Error(Errc::invalid_argument,
                   std::to_string(v) + " is out of range: allowed " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    get(c) = static_cast<T>(v);
    return {};
  };
}

template <typename Get>
Setter set_double(Get get, double lo, double hi) {
  return [get, lo, hi](Config& c, const toml::node& n) -> Result<void> {
    if (!n.is_number()) return type_error("a number from " + show_double(lo) + " to " + show_double(hi));
    double v = *n.value<double>();
    if (!(v >= lo && v <= hi)) {
      return Error(Errc::invalid_argument,
                   show_double(v) + " is out of range: allowed " + show_double(lo) + " to " + show_double(hi));
    }
    get(c) = v;
    return {};
  };
}

template <typename Get>
Setter set_size(Get get, std::uint64_t lo, std::uint64_t hi) {
  return [get, lo, hi](Config& c, const toml::node& n) -> Result<void> {
    std::uint64_t bytes = 0;
    if (n.is_integer() && *n.value<std::int64_t>() >= 0) {
      bytes = static_cast<std::uint64_t>(*n.value<std::int64_t>());
    } else if (n.is_string()) {
      CIRO_TRY(bytes, parse_size(*n.value<std::string>()));
    } else {
      return type_error("a size such as \"512MiB\" or a number of bytes");
    }
    if (bytes < lo || bytes > hi) {
      return Error(Errc::invalid_argument,
                   format_size(bytes) + " is out of range: allowed " + format_size(lo) + " to " + format_size(hi));
    }
    get(c) = bytes;
    return {};
  };
}

template <typename Get>
Setter set_duration(Get get, std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
  return [get, lo, hi](Config& c, const toml::node& n) -> Result<void> {
    std::chrono::milliseconds d{};
    if (n.is_integer() && *n.value<std::int64_t>() >= 0) {
      d = std::chrono::seconds(*n.value<std::int64_t>());
    } else if (n.is_string()) {
      CIRO_TRY(d, parse_duration(*n.value<std::string>()));
    } else {
      return type_error("a duration such as \"30s\", \"5m\" or a number of seconds");
    }
    if (d < lo || d > hi) {
      return Error(Errc::invalid_argument, format_duration(d) + " is out of range: allowed " + format_duration(lo) +
                                               " to " + format_duration(hi));
    }
    get(c) = d;
    return {};
  };
}

template <typename Get>
Setter set_string_list(Get get, std::function<Result<void>(const std::string&)> check = nullptr) {
  return [get, check](Config& c, const toml::node& n) -> Result<void> {
    std::vector<std::string> out;
    if (n.is_string()) {  // one value given alone (e.g. from an environment variable)
      if (!n.value<std::string>()->empty()) out.push_back(*n.value<std::string>());
    } else if (const auto* arr = n.as_array()) {
      for (const auto& item : *arr) {
        if (!item.is_string()) return type_error("an array of strings");
        out.push_back(*item.value<std::string>());
      }
    } else {
      return type_error("an array of strings");
    }
    if (check) {
      for (const auto& s : out) CIRO_TRY_VOID(check(s));
    }
    get(c) = std::move(out);
    return {};
  };
}

Result<void> check_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return Error(Errc::invalid_argument, "'" + s + "' is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)");
  }
  const std::string port = s.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), ::isdigit) || port.size() > 5 || std::stoi(port) > 65535) {
    return Error(Errc::invalid_argument, "'" + s + "': the port must be a number from 0 to 65535");
  }
  // The API binds an address, not a name.
  std::string host = s.substr(0, colon);
  const bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (v6) host = host.substr(1, host.size() - 2);
  unsigned char buf[sizeof(in6_addr)];
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1) {
    return Error(Errc::invalid_argument,
                 "'" + s + "': the address must be an IP address (e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080)");
  }
  return {};
}

Result<void> check_felt_hex(const std::string& s) {
  if (s.empty()) return {};
  bool ok = s.size() > 2 && s.size() <= 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
            std::all_of(s.begin() + 2, s.end(), ::isxdigit);
  if (!ok)
    return Error(Errc::invalid_argument, "'" + s + "' is not a hex felt: expected 0x followed by 1 to 64 hex digits");
  // Below the Stark prime P = 0x800000000000011 followed by 47 zeros and a 1 (63 digits).
  std::string digits = s.substr(2);
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  for (auto& ch : digits) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string p = "800000000000011" + std::string(47, '0') + "1";
  if (digits.size() > p.size() || (digits.size() == p.size() && digits >= p)) {
    return Error(Errc::invalid_argument, "'" + s + "' is not below the Stark prime P = 0x" + p);
  }
  return {};
}

Result<void> one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  std::string list;
  for (auto a : allowed) {
    if (v == a) return {};
    list += std::string(list.empty() ? "" : ", ") + a;
  }
  return Error(Errc::invalid_argument, "'" + v + "' is not allowed: use one of " + list);
}

// The URL may carry an API key in its path, so messages show only its scheme and host.
Result<void> check_url(const std::string& s) {
  const bool https = s.rfind("https://", 0) == 0;
  if (!https && s.rfind("http://", 0) != 0) {
    return Error(Errc::invalid_argument, "a URL must start with http:// or https://");
  }
  const std::string rest = s.substr(https ? 8 : 7);
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos) {
    return Error(Errc::invalid_argument, "user:password@ in a URL is not supported (an API key goes in the path)");
  }
  const auto colon = authority.rfind(':');
  const std::string host = authority.empty()         ? std::string()
                           : authority.front() == '[' ? authority.substr(0, authority.find(']') + 1)
                                                      : authority.substr(0, colon);
  if (host.empty() || host == "[]") {
    return Error(Errc::invalid_argument, "'" + s.substr(0, https ? 8 : 7) + "' names no host");
  }
  const auto port_at = authority.front() == '[' ? authority.find("]:") : colon;
  if (port_at != std::string::npos) {
    const std::string port = authority.substr(port_at + (authority.front() == '[' ? 2 : 1));
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) || std::stoi(port) > 65535) {
      return Error(Errc::invalid_argument, "the URL's port must be a number from 1 to 65535");
    }
  }
  return {};
}

Result<void> check_node_id(const std::string& s) {
  if (s.empty() || s.size() > 64 || !std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      })) {
    return Error(Errc::invalid_argument, "'" + s + "' is not a node id: 1-64 letters, digits, '-', '_' or '.'");
  }
  return {};
}

#define FIELD(path) \
  [](Config & c) -> auto& { return c.path; }

const std::vector<KeySpec>& registry() {
  using namespace std::chrono_literals;
  static const std::vector<KeySpec> keys = {
      // [node]
      {"node", "id", "string (letters, digits, - _ .)", "node name; labels containers and appears in the API", false,
       set_string(FIELD(node.id), check_node_id), [](const Config& c) { return quote(c.node.id); }},
      {"node", "bind_address", "host:port", "HTTP API address (port 0 = any free port)", false,
       set_string(FIELD(node.bind_address), check_host_port),
       [](const Config& c) { return quote(c.node.bind_address); }},
      {"node", "data_dir", "path", "database, node key, API token and job files", false,
       [](Config& c, const toml::node& n) -> Result<void> {
         if (!n.is_string() || n.value<std::string>()->empty()) return type_error("a non-empty path string");
         c.node.data_dir = *n.value<std::string>();
         return {};
       },
       [](const Config& c) { return quote(c.node.data_dir.string()); }},
      {"node", "shutdown_timeout", "duration 1s..10m", "how long SIGTERM waits for running work to stop", false,
       set_duration(FIELD(node.shutdown_timeout), 1s, 10min),
       [](const Config& c) { return quote(format_duration(c.node.shutdown_timeout)); }},
      // [gpu]
      {"gpu", "enabled", "bool", "offer GPUs found through NVML", false, set_bool(FIELD(gpu.enabled)),
       [](const Config& c) { return std::string(c.gpu.enabled ? "true" : "false"); }},
      {"gpu", "devices", "\"all\" or a list of indexes/UUIDs", "which GPUs to offer", false,
       [](Config& c, const toml::node& n) -> Result<void> {
         if (n.is_string() && *n.value<std::string>() == "all") {
           c.gpu.devices.clear();
           return {};
         }
         if (n.is_string()) return type_error("\"all\" or an array such as [\"0\", \"1\"]");
         auto inner = set_string_list(FIELD(gpu.devices));
         return inner(c, n);
       },
       [](const Config& c) { return c.gpu.devices.empty() ? quote("all") : show_list(c.gpu.devices); }},
      {"gpu", "memory_limit", "\"80%\" or a size per GPU such as \"8GB\"", "GPU memory offered per GPU", false,
       [](Config& c, const toml::node& n) -> Result<void> {
         if (!n.is_string()) return type_error("a string such as \"80%\" or \"8GB\"");
         std::string v = *n.value<std::string>();
         if (!v.empty() && v.back() == '%') {
           char* end = nullptr;
           double pct = std::strtod(v.c_str(), &end);
           if (end != v.c_str() + v.size() - 1 || !(pct > 0 && pct <= 100)) {
             return Error(Errc::invalid_argument, "'" + v + "': a percentage must be above 0% and at most 100%");
           }
           c.gpu.memory_fraction = pct / 100.0;
           c.gpu.memory_bytes.reset();
         } else {
           CIRO_TRY(auto bytes, parse_size(v));
           if (bytes == 0) return Error(Errc::invalid_argument, "the GPU memory limit must be above 0");
           c.gpu.memory_bytes = bytes;
           c.gpu.memory_fraction = 1.0;
         }
         c.gpu.memory_limit_text = v;
         return {};
       },
       [](const Config& c) { return quote(c.gpu.memory_limit_text); }},
      {"gpu", "utilization_threshold", "number 0.0..1.0", "a GPU busier than this gets no new job", false,
       set_double(FIELD(gpu.utilization_threshold), 0.0, 1.0),
       [](const Config& c) { return show_double(c.gpu.utilization_threshold); }},
      {"gpu", "library", "path or library name", "NVML library loaded with dlopen", false,
       set_string(FIELD(gpu.library)), [](const Config& c) { return quote(c.gpu.library); }},
      // [network]
      {"network", "enabled", "bool", "start the libp2p host", false, set_bool(FIELD(network.enabled)),
       [](const Config& c) { return std::string(c.network.enabled ? "true" : "false"); }},
      {"network", "listen_port", "integer 0..65535", "libp2p TCP port", false,
       set_int<std::uint16_t>(FIELD(network.listen_port), 0, 65535),
       [](const Config& c) { return std::to_string(c.network.listen_port); }},
      {"network", "listen_host", "IP address", "libp2p listen address", false, set_string(FIELD(network.listen_host)),
       [](const Config& c) { return quote(c.network.listen_host); }},
      {"network", "bootstrap_peers", "array of multiaddrs", "peers dialled at start", false,
       set_string_list(FIELD(network.bootstrap_peers),
                       [](const std::string& s) -> Result<void> {
                         if (s.empty() || s[0] != '/') {
                           return Error(Errc::invalid_argument,
                                        "'" + s + "' is not a multiaddr (e.g. /ip4/1.2.3.4/tcp/9000/p2p/12D3KooW...)");
                         }
                         return {};
                       }),
       [](const Config& c) { return show_list(c.network.bootstrap_peers); }},
      {"network", "announce_interval", "duration 1s..1h", "how often capabilities are gossiped", false,
       set_duration(FIELD(network.announce_interval), 1s, 1h),
       [](const Config& c) { return quote(format_duration(c.network.announce_interval)); }},
      // [blockchain]
      {"blockchain", "enabled", "bool", "talk to Starknet", false, set_bool(FIELD(blockchain.enabled)),
       [](const Config& c) { return std::string(c.blockchain.enabled ? "true" : "false"); }},
      {"blockchain", "network", "mainnet | sepolia | testnet | devnet", "Starknet network", false,
       set_string(FIELD(blockchain.network),
                  [](const std::string& v) {
                    return one_of(v, {"mainnet", "sepolia", "testnet", "devnet"});
                  }),
       [](const Config& c) { return quote(c.blockchain.network); }},
      {"blockchain", "rpc_url", "URL or array of URLs", "JSON-RPC endpoints, tried in order", true,
       set_string_list(FIELD(blockchain.rpc_url), check_url),
       [](const Config& c) { return show_list(c.blockchain.rpc_url); }},
      {"blockchain", "tls_ca_file", "path", "extra CA certificates (PEM) trusted for https rpc_urls", false,
       set_string(FIELD(blockchain.tls_ca_file)), [](const Config& c) { return quote(c.blockchain.tls_ca_file); }},
      {"blockchain", "account_address", "0x felt", "the worker's Starknet account", false,
       set_string(FIELD(blockchain.account_address), check_felt_hex),
       [](const Config& c) { return quote(c.blockchain.account_address); }},
      {"blockchain", "keystore", "path", "encrypted account key file", false, set_string(FIELD(blockchain.keystore)),
       [](const Config& c) { return quote(c.blockchain.keystore); }},
      {"blockchain", "job_manager_address", "0x felt", "JobManager contract", false,
       set_string(FIELD(blockchain.job_manager_address), check_felt_hex),
       [](const Config& c) { return quote(c.blockchain.job_manager_address); }},
      {"blockchain", "cdc_pool_address", "0x felt", "CDC pool contract", false,
       set_string(FIELD(blockchain.cdc_pool_address), check_felt_hex),
       [](const Config& c) { return quote(c.blockchain.cdc_pool_address); }},
      {"blockchain", "confirmations", "integer 0..1000", "blocks before an event is acted on", false,
       set_int<std::uint32_t>(FIELD(blockchain.confirmations), 0, 1000),
       [](const Config& c) { return std::to_string(c.blockchain.confirmations); }},
      {"blockchain", "poll_interval", "duration 100ms..10m", "how often the chain is polled", false,
       set_duration(FIELD(blockchain.poll_interval), 100ms, 10min),
       [](const Config& c) { return quote(format_duration(c.blockchain.poll_interval)); }},
      {"blockchain", "password_env", "environment variable name", "holds the keystore password", false,
       set_string(FIELD(blockchain.password_env)), [](const Config& c) { return quote(c.blockchain.password_env); }},
      {"blockchain", "password_file", "path", "file holding the keystore password (wins over password_env)", false,
       set_string(FIELD(blockchain.password_file)), [](const Config& c) { return quote(c.blockchain.password_file); }},
      {"blockchain", "heartbeat_interval", "duration 0s..1d", "CDC pool heartbeats (0s = off)", false,
       set_duration(FIELD(blockchain.heartbeat_interval), std::chrono::milliseconds(0), std::chrono::hours(24)),
       [](const Config& c) { return quote(format_duration(c.blockchain.heartbeat_interval)); }},
      // [executor]
      {"executor", "engine_socket", "path", "Docker Engine API Unix socket (Docker or Podman)", false,
       set_string(FIELD(executor.engine_socket)), [](const Config& c) { return quote(c.executor.engine_socket); }},
      {"executor", "default_image", "image name", "image for jobs that name none", false,
       set_string(FIELD(executor.default_image)), [](const Config& c) { return quote(c.executor.default_image); }},
      {"executor", "max_concurrent_jobs", "integer 1..256", "containers running at once", false,
       set_int<std::uint32_t>(FIELD(executor.max_concurrent_jobs), 1, 256),
       [](const Config& c) { return std::to_string(c.executor.max_concurrent_jobs); }},
      {"executor", "max_queued_jobs", "integer 1..1000000", "accepted jobs waiting to run", false,
       set_int<std::uint32_t>(FIELD(executor.max_queued_jobs), 1, 1000000),
       [](const Config& c) { return std::to_string(c.executor.max_queued_jobs); }},
      {"executor", "default_memory", "size 6MiB..1TiB", "memory limit of a job that names none", false,
       set_size(FIELD(executor.default_memory), 6ull << 20, 1ull << 40),
       [](const Config& c) { return quote(format_size(c.executor.default_memory)); }},
      {"executor", "max_memory", "size 4MiB..1TiB", "largest memory limit a job may ask for", false,
       set_size(FIELD(executor.max_memory), 4ull << 20, 1ull << 40),
       [](const Config& c) { return quote(format_size(c.executor.max_memory)); }},
      {"executor", "default_cpus", "number 0.01..1024", "CPU limit of a job that names none", false,
       set_double(FIELD(executor.default_cpus), 0.01, 1024),
       [](const Config& c) { return show_double(c.executor.default_cpus); }},
      {"executor", "max_cpus", "number 0.01..1024", "largest CPU limit a job may ask for", false,
       set_double(FIELD(executor.max_cpus), 0.01, 1024),
       [](const Config& c) { return show_double(c.executor.max_cpus); }},
      {"executor", "default_pids", "integer 8..1000000", "process limit of a job that names none", false,
       set_int<std::int64_t>(FIELD(executor.default_pids), 8, 1000000),
       [](const Config& c) { return std::to_string(c.executor.default_pids); }},
      {"executor", "max_pids", "integer 8..1000000", "largest process limit a job may ask for", false,
       set_int<std::int64_t>(FIELD(executor.max_pids), 8, 1000000),
       [](const Config& c) { return std::to_string(c.executor.max_pids); }},
      {"executor", "tmpfs_size", "size 1MiB..64GiB", "size of the tmpfs at /tmp", false,
       set_size(FIELD(executor.tmpfs_size), 1ull << 20, 64ull << 30),
       [](const Config& c) { return quote(format_size(c.executor.tmpfs_size)); }},
      {"executor", "default_timeout", "duration 1s..30d", "timeout of a job that names none", false,
       set_duration(FIELD(executor.default_timeout), 1s, std::chrono::hours(24 * 30)),
       [](const Config& c) { return quote(format_duration(c.executor.default_timeout)); }},
      {"executor", "max_timeout", "duration 1s..30d", "longest timeout a job may ask for", false,
       set_duration(FIELD(executor.max_timeout), 1s, std::chrono::hours(24 * 30)),
       [](const Config& c) { return quote(format_duration(c.executor.max_timeout)); }},
      {"executor", "max_output_size", "size 1KiB..1TiB", "largest /output collected per job", false,
       set_size(FIELD(executor.max_output_size), 1ull << 10, 1ull << 40),
       [](const Config& c) { return quote(format_size(c.executor.max_output_size)); }},
      {"executor", "max_log_size", "size 1KiB..64GiB", "stdout+stderr kept per job", false,
       set_size(FIELD(executor.max_log_size), 1ull << 10, 64ull << 30),
       [](const Config& c) { return quote(format_size(c.executor.max_log_size)); }},
      {"executor", "max_input_size", "size 0..4GiB", "inline input files per job, decoded", false,
       set_size(FIELD(executor.max_input_size), 0, 4ull << 30),
       [](const Config& c) { return quote(format_size(c.executor.max_input_size)); }},
      {"executor", "allow_network", "bool", "may a job ask for network access", false,
       set_bool(FIELD(executor.allow_network)),
       [](const Config& c) { return std::string(c.executor.allow_network ? "true" : "false"); }},
      {"executor", "max_gpus_per_job", "integer 0..64", "GPUs one job may ask for", false,
       set_int<std::uint32_t>(FIELD(executor.max_gpus_per_job), 0, 64),
       [](const Config& c) { return std::to_string(c.executor.max_gpus_per_job); }},
      {"executor", "retention", "duration 1m..365d", "how long finished jobs' files are kept", false,
       set_duration(FIELD(executor.retention), 1min, std::chrono::hours(24 * 365)),
       [](const Config& c) { return quote(format_duration(c.executor.retention)); }},
      // [api]
      {"api", "token_file", "path", "bearer token file (relative = inside data_dir), made 0600 at first start", false,
       set_string(FIELD(api.token_file)), [](const Config& c) { return quote(c.api.token_file); }},
      {"api", "body_limit", "size 1KiB..1GiB", "largest request body", false,
       set_size(FIELD(api.body_limit), 1ull << 10, 1ull << 30),
       [](const Config& c) { return quote(format_size(c.api.body_limit)); }},
      {"api", "max_connections", "integer 1..100000", "HTTP connections served at once", false,
       set_int<std::uint32_t>(FIELD(api.max_connections), 1, 100000),
       [](const Config& c) { return std::to_string(c.api.max_connections); }},
      {"api", "request_timeout", "duration 1s..1h", "time allowed to read a request", false,
       set_duration(FIELD(api.request_timeout), 1s, 1h),
       [](const Config& c) { return quote(format_duration(c.api.request_timeout)); }},
      // [log]
      {"log", "level", "level or \"level,subsystem=level,...\"", "log levels (CIRO_LOG / RUST_LOG override)", false,
       set_string(FIELD(log.level), check_log_level), [](const Config& c) { return quote(c.log.level); }},
      {"log", "format", "text | json", "log line format", false,
       set_string(FIELD(log.format),
                  [](const std::string& v) {
                    return one_of(v, {"text", "json"});
                  }),
       [](const Config& c) { return quote(c.log.format); }},
  };
  return keys;
}
#undef FIELD

const KeySpec* find_key(const std::string& section, const std::string& key) {
  for (const auto& k : registry()) {
    if (k.section == section && k.key == key) return &k;
  }
  return nullptr;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Error located(const std::string& where, const KeySpec& k, const Error& e) {
  return Error(Errc::invalid_argument,
               where + ": " + k.section + "." + k.key + ": " + e.message + " (allowed: " + k.type + ")");
}

// A value given as text (environment or flag): read it as a TOML value when it parses as one
// (numbers, booleans, arrays, quoted strings), else as a bare string.
Result<void> apply_text(Config& c, const KeySpec& k, const std::string& text, const std::string& where) {
  toml::table holder;
  try {
    holder = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    holder = toml::table{{"v", text}};
  }
  auto r = k.set(c, *holder.get("v"));
  if (!r.ok() && !holder.get("v")->is_string()) {
    // A text that happens to read as another TOML type (0x1234 is a TOML integer) may still be
    // meant as a string: try it as one before giving up.
    toml::table raw{{"v", text}};
    auto as_text = k.set(c, *raw.get("v"));
    if (as_text.ok()) return {};
    if (k.type.find("integer") == std::string::npos && k.type.find("number") == std::string::npos &&
        k.type != "bool") {
      return located(where, k, as_text.error());  // a text key: its own complaint says more
    }
  }
  if (!r.ok()) return located(where, k, r.error());
  return {};
}

std::string line_of(const toml::node& n) { return std::to_string(n.source().begin.line); }

// Post-parse checks that involve several keys. Each error starts with where its first key was
// set (file:line, environment variable, flag), or "built-in default".
using Origins = std::map<std::string, std::string>;
Result<void> validate(const Config& c, const Origins& origins) {
  // The message starts with where the keys involved were set (those not left at their default).
  auto bad = [&](std::initializer_list<const char*> keys, const std::string& m) {
    std::string where;
    for (const char* k : keys) {
      if (auto it = origins.find(k); it != origins.end()) where += (where.empty() ? "" : ", ") + it->second;
    }
    return Error(Errc::invalid_argument, (where.empty() ? std::string("built-in defaults") : where) + ": " + m);
  };
  if (c.executor.default_memory > c.executor.max_memory) {
    return bad({"executor.default_memory", "executor.max_memory"},
               "executor.default_memory (" + format_size(c.executor.default_memory) +
                   ") is above executor.max_memory (" + format_size(c.executor.max_memory) + ")");
  }
  if (c.executor.default_cpus > c.executor.max_cpus) {
    return bad({"executor.default_cpus", "executor.max_cpus"}, "executor.default_cpus is above executor.max_cpus");
  }
  if (c.executor.default_pids > c.executor.max_pids) {
    return bad({"executor.default_pids", "executor.max_pids"}, "executor.default_pids is above executor.max_pids");
  }
  if (c.executor.default_timeout > c.executor.max_timeout) {
    return bad({"executor.default_timeout", "executor.max_timeout"},
               "executor.default_timeout is above executor.max_timeout");
  }
  if (c.blockchain.enabled && c.blockchain.rpc_url.empty()) {
    return bad({"blockchain.enabled", "blockchain.rpc_url"}, "blockchain.enabled is true but blockchain.rpc_url is empty");
  }
  if (c.blockchain.enabled && c.blockchain.account_address.empty()) {
    return bad({"blockchain.enabled", "blockchain.account_address"},
               "blockchain.enabled is true but blockchain.account_address is empty");
  }
  if (c.blockchain.enabled && c.blockchain.keystore.empty()) {
    return bad({"blockchain.enabled", "blockchain.keystore"},
               "blockchain.enabled is true but blockchain.keystore is empty (create one with: ciro-worker keys new)");
  }
  const bool has_defaults = c.blockchain.network == "sepolia" || c.blockchain.network == "testnet";
  if (c.blockchain.enabled && !has_defaults && c.blockchain.job_manager_address.empty()) {
    return bad({"blockchain.network", "blockchain.enabled"},
               "blockchain.network is " + c.blockchain.network +
                   ", which has no default contracts: set blockchain.job_manager_address (and cdc_pool_address)");
  }
  return {};
}

}  // namespace

Result<Config> load_config(const ConfigSources& sources) {
  Config c;
  Origins origins;  // "section.key" -> where its value came from, for the cross-key checks
  // 1. file
  if (sources.file) {
    const auto& path = *sources.file;
    c.source_file = path;
    std::error_code fec;
    if (!std::filesystem::is_regular_file(path, fec)) {
      return Error(Errc::invalid_argument,
                   path.string() + (std::filesystem::exists(path, fec) ? ": not a regular file" : ": no such file") +
                       " (--config takes a TOML file such as config/development.toml)");
    }
    toml::table table;
    try {
      table = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
      std::string where = path.string();
      if (e.source().begin.line > 0) where += ":" + std::to_string(e.source().begin.line);
      return Error(Errc::invalid_argument, where + ": not valid TOML: " + std::string(e.description()));
    }
    for (const auto& [section_key, section_node] : table) {
      const std::string section(section_key.str());
      const auto* section_table = section_node.as_table();
      if (section_table == nullptr) {
        c.warnings.push_back(path.string() + ":" + line_of(section_node) + ": unknown top-level key '" + section +
                             "' (ignored; settings live in sections such as [node])");
        continue;
      }
      for (const auto& [key_name, value] : *section_table) {
        const std::string key(key_name.str());
        const KeySpec* k = find_key(section, key);
        if (k == nullptr) {
          c.warnings.push_back(path.string() + ":" + line_of(value) + ": unknown key " + section + "." + key +
                               " (ignored)");
          continue;
        }
        auto r = k->set(c, value);
        if (!r.ok()) return located(path.string() + ":" + line_of(value), *k, r.error());
        origins[section + "." + key] = path.string() + ":" + line_of(value);
      }
    }
  }
  // 2. environment
  for (const auto& [name, text] : sources.environment) {
    if (name == "CIRO_LOG" || name == "RUST_LOG") continue;
    if (name.rfind("CIRO_", 0) != 0) continue;
    auto sep = name.find("__");
    if (sep == std::string::npos) continue;  // not a config variable (e.g. CIRO_API_TOKEN for ciroctl)
    bool matched = false;
    for (const auto& k : registry()) {
      if (name == "CIRO_" + upper(k.section) + "__" + upper(k.key)) {
        CIRO_TRY_VOID(apply_text(c, k, text, "environment " + name));
        origins[k.section + "." + k.key] = "environment " + name;
        matched = true;
        break;
      }
    }
    if (!matched) c.warnings.push_back("environment " + name + ": no such configuration key (ignored)");
  }
  // CIRO_LOG wins over RUST_LOG, which is accepted for the original's users.
  for (const char* name : {"CIRO_LOG", "RUST_LOG"}) {
    auto it = sources.environment.find(name);
    if (it == sources.environment.end() || it->second.empty()) continue;
    if (auto ok = check_log_level(it->second); !ok.ok()) {
      return Error(Errc::invalid_argument, "environment " + std::string(name) + ": " + ok.error().message +
                                               " (allowed: level or \"level,subsystem=level,...\")");
    }
    c.log.level = it->second;
    break;
  }
  // 3. flags
  for (const auto& [dotted, text] : sources.overrides) {
    auto dot = dotted.find('.');
    const KeySpec* k = dot == std::string::npos ? nullptr : find_key(dotted.substr(0, dot), dotted.substr(dot + 1));
    if (k == nullptr) {
      return Error(Errc::invalid_argument, "--set " + dotted + ": no such configuration key (see --help-config)");
    }
    CIRO_TRY_VOID(apply_text(c, *k, text, "--set " + dotted));
    origins[dotted] = "--set " + dotted;
  }
  // Relative paths are resolved now, against the directory the worker was started in: the engine
  // resolves bind mounts against its own working directory, not ours.
  std::error_code aec;
  if (!c.node.data_dir.empty() && c.node.data_dir.is_relative()) {
    c.node.data_dir = std::filesystem::absolute(c.node.data_dir, aec).lexically_normal();
  }
  CIRO_TRY_VOID(validate(c, origins));
  return c;
}

std::map<std::string, std::string> config_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(kv.substr(0, eq));
    if (name.rfind("CIRO_", 0) == 0 || name == "RUST_LOG") env[name] = std::string(kv.substr(eq + 1));
  }
  return env;
}

std::string print_config(const Config& config) {
  std::string out;
  std::string section;
  for (const auto& k : registry()) {
    if (k.section != section) {
      section = k.section;
      out += (out.empty() ? "" : "\n") + std::string("[") + section + "]\n";
    }
    std::string value = k.show(config);
    if (k.secret && value != "[]" && value != "\"\"") value = "\"<redacted>\"";
    out += k.key + " = " + value + "\n";
  }
  return out;
}

std::string describe_config_keys() {
  std::string out;
  Config defaults;
  for (const auto& k : registry()) {
    std::string type;
    for (char ch : k.type) type += ch == '|' ? std::string("\\|") : std::string(1, ch);  // Markdown table cell
    out += "| `" + k.section + "." + k.key + "` | " + type + " | `" + k.show(defaults) + "` | " + k.help + " |\n";
  }
  return out;
}

std::filesystem::path in_data_dir(const Config& config, const std::filesystem::path& p) {
  return p.is_absolute() ? p : config.node.data_dir / p;
}

}  // namespace ciro::utils
