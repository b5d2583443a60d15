#include "utils/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

namespace ciro::utils {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
// Reads a non-negative decimal number (digits with an optional fraction) from the front of s.
bool take_number(std::string_view& s, double& value) {
  std::size_t i = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
    digits = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      digits = true;
    }
  }
  if (!digits || i > 40) return false;
  value = std::stod(std::string(s.substr(0, i)));
  s.remove_prefix(i);
  return true;
}
}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  const std::string_view original = text;
  text = trim(text);
  double value = 0;
  auto bad = [&] {
    return Error(Errc::invalid_argument, "'" + std::string(original) +
                                             "' is not a size: use a number of bytes or a number with a unit "
                                             "(B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 512MiB");
  };
  if (!take_number(text, value)) return bad();
  std::string unit = lower(trim(text));
  double mult = 0;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "kb")
    mult = 1e3;
  else if (unit == "mb")
    mult = 1e6;
  else if (unit == "gb")
    mult = 1e9;
  else if (unit == "tb")
    mult = 1e12;
  else if (unit == "k" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tib")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return bad();
  double bytes = std::round(value * mult);
  if (bytes >= 1.8e19) return Error(Errc::invalid_argument, "'" + std::string(original) + "' is too large");
  return static_cast<std::uint64_t>(bytes);
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string_view original = text;
  text = trim(text);
  auto bad = [&] {
    return Error(Errc::invalid_argument,
                 "'" + std::string(original) + "' is not a duration: use e.g. 250ms, 30s, 5m, 2h, 1d or 1m30s");
  };
  if (text.empty()) return bad();
  double total_ms = 0;
  bool first = true;
  while (!text.empty()) {
    double value = 0;
    if (!take_number(text, value)) return bad();
    std::size_t i = 0;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = lower(text.substr(0, i));
    text.remove_prefix(i);
    if (unit.empty()) {
      if (!first || !text.empty()) return bad();
      unit = "s";
    }
    if (unit == "ms")
      total_ms += value;
    else if (unit == "s")
      total_ms += value * 1e3;
    else if (unit == "m")
      total_ms += value * 60e3;
    else if (unit == "h")
      total_ms += value * 3600e3;
    else if (unit == "d")
      total_ms += value * 86400e3;
    else
      return bad();
    first = false;
  }
  if (total_ms > 1e15) return Error(Errc::invalid_argument, "'" + std::string(original) + "' is too long");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
}

std::string format_size(std::uint64_t bytes) {
  static const char* UNITS[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0 || std::fabs(v - std::round(v)) < 1e-9)
    std::snprintf(buf, sizeof buf, "%.0f%s", v, UNITS[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", v, UNITS[u]);
  return buf;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  auto s = ms / 1000;
  if (s >= 86400) {
    out += std::to_string(s / 86400) + "d";
    s %= 86400;
  }
  if (s >= 3600) {
    out += std::to_string(s / 3600) + "h";
    s %= 3600;
  }
  if (s >= 60) {
    out += std::to_string(s / 60) + "m";
    s %= 60;
  }
  if (s > 0 || out.empty()) out += std::to_string(s) + "s";
  if (ms % 1000 != 0 && ms < 60000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  return out;
}

}  // namespace ciro::utils
