#pragma once
// Logging: one named spdlog logger per subsystem ("node", "compute", "network", "blockchain",
// "storage", "api"), all writing to stderr through one sink. Levels come from a spec such as
// "info,compute=debug,api=warn" (CIRO_LOG, or RUST_LOG for the original's users).

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "utils/result.h"

namespace ciro::utils {

struct LogOptions {
  std::string level = "info";   ///< default level, then ",subsystem=level" pairs
  std::string format = "text";  ///< text | json (one JSON object a line)
};

/// Installs the sink and levels for every subsystem logger. Call once at start-up, before other
/// threads log. Fails on an unknown level name; a RUST_LOG-style module path ("ciro_worker=debug")
/// is accepted and applies to every subsystem.
Result<void> init_logging(const LogOptions& options);

/// Whether a level spec ("info,compute=debug") would be accepted by init_logging.
Result<void> check_log_level(const std::string& spec);

/// The subsystem's logger; created on first use with the current settings.
std::shared_ptr<spdlog::logger> logger(const std::string& subsystem);

}  // namespace ciro::utils
