#pragma once
// The job spec (API version "ciro/v1"): what a client asks this node to run. Parsed strictly from
// JSON and validated against the node's limits; every error names the field path
// ("resources.memory") and what is allowed. Documented in docs/job-spec.md. Pure and thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ciro::compute {

inline constexpr const char* JOB_API_VERSION = "ciro/v1";

struct InputFile {
  std::string path;     ///< relative path under /input
  std::string content;  ///< decoded bytes
};

struct JobSpec {
  std::string api_version = JOB_API_VERSION;
  std::string name;   ///< free label for people
  std::string image;  ///< filled with the node default when absent
  std::vector<std::string> entrypoint;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string workdir;
  std::vector<InputFile> inputs;
  double cpus = 0;  ///< filled with the default when absent
  std::uint64_t memory_bytes = 0;
  std::int64_t pids = 0;
  unsigned gpus = 0;
  std::uint64_t gpu_memory_bytes = 0;  ///< per GPU; 0 = any
  std::uint64_t max_output_bytes = 0;  ///< resources.disk: cap on /output
  std::chrono::milliseconds timeout{0};
  bool network = false;               ///< "network": "bridge" asks for network access
  std::string verification = "none";  ///< none | hash | redundant
  unsigned replicas = 1;              ///< for redundant verification
  std::string reward;                 ///< decimal or 0x hex amount, informative here
  std::string chain_job_id;           ///< JobManager job id (0x hex) whose result goes on chain
};

/// What the node allows; a spec above any limit is refused with the limit in the message.
struct JobLimits {
  std::string default_image = "ciro/busybox:latest";
  double default_cpus = 1.0, max_cpus = 2.0;
  std::uint64_t default_memory = 512ull << 20, max_memory = 4ull << 30;
  std::int64_t default_pids = 256, max_pids = 4096;
  std::chrono::milliseconds default_timeout{std::chrono::minutes(10)}, max_timeout{std::chrono::hours(24)};
  std::uint64_t max_output = 256ull << 20;
  std::uint64_t max_input = 64ull << 20;
  std::size_t max_input_files = 1000;
  bool allow_network = false;
  unsigned max_gpus = 8;
};

struct SpecError {
  std::string field;    ///< JSON path of the offending value ("" = the whole body)
  std::string message;  ///< what is wrong and what is allowed
};

struct SpecParse {
  std::optional<JobSpec> spec;
  SpecError error;  ///< set when spec is empty
};

/// Parses and validates a job spec body; defaults are filled from limits. `stored` reads the
/// canonical form written by canonical_spec_json (inputs as digests, contents left empty).
SpecParse parse_job_spec(std::string_view body, const JobLimits& limits, bool stored = false);

/// Canonical JSON of a validated spec (sorted keys, no whitespace, inputs base64) — what is
/// stored and hashed (spec_sha256 in the result manifest).
std::string canonical_spec_json(const JobSpec& spec);

/// A relative path that stays inside its folder: no absolute path, no "." / ".." segments, no
/// empty segments, no NUL, at most 255 bytes a segment and 4096 in all.
bool is_safe_relative_path(std::string_view path);

/// A Docker image reference: [registry[:port]/]name[:tag][@algo:hex], at most 255 characters.
bool is_valid_image_reference(std::string_view ref);

}  // namespace ciro::compute
