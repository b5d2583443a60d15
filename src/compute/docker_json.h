#pragma once
// The Docker Engine API's JSON, both ways: request bodies we build and replies we parse.
// Every parser checks each field's presence and type and says what was wrong; none throws.
// Internal to ciro::compute (used by DockerExecutor and its unit tests).

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compute/executor.h"
#include "utils/result.h"

namespace ciro::compute {

/// The parts of GET /containers/{id}/json we use.
struct ContainerState {
  std::string status;  ///< "created", "running", "exited", ...
  bool running = false;
  bool oom_killed = false;
  int exit_code = -1;
  std::string error;   ///< State.Error (engine-side failure text)
  std::optional<std::chrono::system_clock::time_point> started_at;
  std::optional<std::chrono::system_clock::time_point> finished_at;
};

Result<ContainerState> parse_inspect(std::string_view body);
Result<std::vector<OwnedContainer>> parse_container_list(std::string_view body);
Result<EngineInfo> parse_version(std::string_view body);
/// {"Id": "..."} from POST /containers/create.
Result<std::string> parse_create_reply(std::string_view body);
/// {"StatusCode": N} from POST /containers/{id}/wait.
Result<int> parse_wait_reply(std::string_view body);

/// The engine's error text from an error reply ({"message": ...} or plain text), shortened.
std::string engine_message(std::string_view body);

/// RFC 3339 with optional fraction (nanoseconds) and Z or ±hh:mm. nullopt when malformed or
/// before 1970 (Docker's "0001-01-01T00:00:00Z" means "never").
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

/// Percent-encodes a query parameter value.
std::string url_encode(std::string_view text);

/// True when s can be part of a container name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 200 bytes).
bool valid_name_part(std::string_view s);

}  // namespace ciro::compute
