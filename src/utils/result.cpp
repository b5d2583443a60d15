#include "utils/result.h"

namespace ciro {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::already_exists:
      return "already_exists";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::io:
      return "io";
    case Errc::protocol:
      return "protocol";
    case Errc::engine:
      return "engine";
    case Errc::timeout:
      return "timeout";
    case Errc::cancelled:
      return "cancelled";
    case Errc::unavailable:
      return "unavailable";
    case Errc::limit_exceeded:
      return "limit_exceeded";
    case Errc::conflict:
      return "conflict";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const { return std::string(errc_name(code)) + ": " + message; }

}  // namespace ciro
