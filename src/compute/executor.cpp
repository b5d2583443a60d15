#include "compute/executor.h"

namespace ciro::compute {

const char* end_reason_name(EndReason reason) noexcept {
  switch (reason) {
    case EndReason::exited: return "exited";
    case EndReason::timeout: return "timeout";
    case EndReason::out_of_memory: return "out_of_memory";
    case EndReason::cancelled: return "cancelled";
    case EndReason::engine_error: return "engine_error";
    case EndReason::node_restarted: return "node_restarted";
    case EndReason::disk_limit: return "disk_limit";
  }
  return "unknown";
}

std::optional<EndReason> end_reason_from_name(std::string_view name) noexcept {
  for (auto r : {EndReason::exited, EndReason::timeout, EndReason::out_of_memory, EndReason::cancelled,
                 EndReason::engine_error, EndReason::node_restarted, EndReason::disk_limit}) {
    if (name == end_reason_name(r)) return r;
  }
  return std::nullopt;
}

}  // namespace ciro::compute
