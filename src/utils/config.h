#pragma once
// Node configuration: one plain struct per TOML section, with defaults. Loaded once at start-up
// from built-in defaults < the TOML file < environment (CIRO_<SECTION>__<KEY>) < command-line
// overrides. Every key is declared once in config.cpp (type, default, help, secret), which is
// what parsing, validation, --print-config and the docs table all read from.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "utils/result.h"

namespace ciro::utils {

struct NodeSection {
  std::string id = "worker-001";                ///< node name; labels containers, shown in the API
  std::string bind_address = "127.0.0.1:8080";  ///< HTTP API host:port (port 0 = any free port)
  std::filesystem::path data_dir = "./data";    ///< database, keys, job files
  std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(20)};  ///< bound on SIGTERM stop
};

struct GpuSection {
  bool enabled = true;                        ///< offer GPUs found through NVML
  std::vector<std::string> devices;           ///< empty = "all"; else indexes or UUIDs
  double memory_fraction = 1.0;               ///< memory_limit "80%" -> 0.8
  std::optional<std::uint64_t> memory_bytes;  ///< memory_limit "8GB" -> bytes per GPU
  std::string memory_limit_text = "100%";     ///< as written, for --print-config
  double utilization_threshold = 0.9;         ///< a GPU busier than this is not given new jobs
  std::string library = "libnvidia-ml.so.1";  ///< NVML library dlopen()ed
};

struct NetworkSection {
  bool enabled = false;                      ///< start the libp2p host
  std::uint16_t listen_port = 9000;          ///< libp2p TCP port (0 = any)
  std::string listen_host = "0.0.0.0";       ///< libp2p listen address
  std::vector<std::string> bootstrap_peers;  ///< multiaddrs with /p2p/<peer id>
  std::chrono::milliseconds announce_interval{std::chrono::seconds(30)};
};

struct BlockchainSection {
  bool enabled = false;              ///< talk to Starknet (off in development)
  std::string network = "testnet";   ///< mainnet | sepolia | testnet (= sepolia) | devnet
  std::vector<std::string> rpc_url;  ///< one or more JSON-RPC endpoints, failover order
  std::string tls_ca_file;           ///< extra CA bundle (PEM) for https rpc_urls; empty = system store
  std::string account_address;       ///< 0x... felt
  std::string keystore;              ///< path of the encrypted account key
  std::string job_manager_address;   ///< JobManager contract (default per network)
  std::string cdc_pool_address;      ///< CDC pool contract (default per network)
  std::uint32_t confirmations = 2;   ///< blocks before an event is acted upon
  std::chrono::milliseconds poll_interval{std::chrono::seconds(10)};
  std::string password_env = "CIRO_KEYSTORE_PASSWORD";                     ///< variable holding the keystore password
  std::string password_file;                                               ///< or a file holding it (wins when set)
  std::chrono::milliseconds heartbeat_interval{std::chrono::minutes(10)};  ///< CDC pool heartbeats (0 = off)
};

struct ExecutorSection {
  std::string engine_socket = "/var/run/docker.sock";  ///< Docker Engine API Unix socket
  std::string default_image = "ciro/busybox:latest";   ///< used when a job names no image
  std::uint32_t max_concurrent_jobs = 2;               ///< containers running at once
  std::uint32_t max_queued_jobs = 1000;                ///< accepted but not yet running
  std::uint64_t default_memory = 512ull << 20;
  std::uint64_t max_memory = 4ull << 30;
  double default_cpus = 1.0;
  double max_cpus = 2.0;
  std::int64_t default_pids = 256;
  std::int64_t max_pids = 4096;
  std::uint64_t tmpfs_size = 64ull << 20;  ///< /tmp inside the container
  std::chrono::milliseconds default_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds max_timeout{std::chrono::hours(24)};
  std::uint64_t max_output_size = 256ull << 20;  ///< /output collected per job
  std::uint64_t max_log_size = 16ull << 20;      ///< stdout+stderr kept per job
  std::uint64_t max_input_size = 64ull << 20;    ///< inline inputs per job, decoded
  bool allow_network = false;                    ///< may a job ask for network access
  std::uint32_t max_gpus_per_job = 8;
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};  ///< finished jobs' files kept
};

struct ApiSection {
  std::string token_file = "api.token";   ///< bearer token; relative = inside data_dir
  std::uint64_t body_limit = 8ull << 20;  ///< largest request body
  std::uint32_t max_connections = 256;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
};

struct LogSection {
  std::string level = "info";   ///< "info" or "info,compute=debug,api=warn"
  std::string format = "text";  ///< text | json
};

struct Config {
  NodeSection node;
  GpuSection gpu;
  NetworkSection network;
  BlockchainSection blockchain;
  ExecutorSection executor;
  ApiSection api;
  LogSection log;
  std::filesystem::path source_file;  ///< the TOML file read ("" = none)
  std::vector<std::string> warnings;  ///< unknown keys etc., logged once the logger runs
};

/// Where the values come from, in increasing precedence after the built-in defaults.
struct ConfigSources {
  std::optional<std::filesystem::path> file;                   ///< --config
  std::map<std::string, std::string> environment;              ///< usually the process environment
  std::vector<std::pair<std::string, std::string>> overrides;  ///< "section.key" -> value (flags)
};

/// Loads and validates. An error names the file and line (or variable or flag), the key, and what
/// is allowed. Unknown keys become warnings.
Result<Config> load_config(const ConfigSources& sources);
/// The process environment as a map (only CIRO_* variables and RUST_LOG are kept).
std::map<std::string, std::string> config_environment();
/// TOML text of the effective configuration; secrets are replaced by "<redacted>".
std::string print_config(const Config& config);
/// One line per key: "section.key  type  default  help" (for docs and --help-config).
std::string describe_config_keys();
/// Resolves a path relative to data_dir (absolute paths unchanged).
std::filesystem::path in_data_dir(const Config& config, const std::filesystem::path& p);

}  // namespace ciro::utils
