#include "utils/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <map>
#include <mutex>
#include <vector>

namespace ciro::utils {

namespace {

const std::vector<std::string> SUBSYSTEMS = {"node", "compute", "network", "blockchain", "storage", "api", "utils"};

struct State {
  std::mutex mutex;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum default_level = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum> levels;
};
State& state() {
  static State s;
  return s;
}

// One JSON object per line: {"ts":"…","level":"info","logger":"api","msg":"…"}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto t = std::chrono::system_clock::to_time_t(msg.time);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[40];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    append(dest, "{\"ts\":\"");
    append(dest, ts);
    append(dest, "\",\"level\":\"");
    auto lv = spdlog::level::to_string_view(msg.level);
    dest.append(lv.data(), lv.data() + lv.size());
    append(dest, "\",\"logger\":\"");
    escape(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    append(dest, "\",\"msg\":\"");
    escape(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append(dest, "\"}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }

 private:
  static void append(spdlog::memory_buf_t& d, std::string_view s) { d.append(s.data(), s.data() + s.size()); }
  static void escape(spdlog::memory_buf_t& d, std::string_view s) {
    for (char c : s) {
      switch (c) {
        case '"':
          append(d, "\\\"");
          break;
        case '\\':
          append(d, "\\\\");
          break;
        case '\n':
          append(d, "\\n");
          break;
        case '\r':
          append(d, "\\r");
          break;
        case '\t':
          append(d, "\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            append(d, buf);
          } else {
            d.push_back(c);
          }
      }
    }
  }
};

std::unique_ptr<spdlog::formatter> text_formatter() {
  return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %-7n %v",
                                                     spdlog::pattern_time_type::utc);
}

Result<spdlog::level::level_enum> parse_level(const std::string& name) {
  static const std::map<std::string, spdlog::level::level_enum> names = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn},     {"error", spdlog::level::err},
      {"off", spdlog::level::off},     {"critical", spdlog::level::critical}};
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto it = names.find(lower);
  if (it == names.end()) {
    return Error(Errc::invalid_argument,
                 "unknown log level '" + name + "': use trace, debug, info, warn, error or off");
  }
  return it->second;
}

std::shared_ptr<spdlog::logger> make_logger_locked(State& s, const std::string& name) {
  auto lg = std::make_shared<spdlog::logger>(name, s.sink);
  auto it = s.levels.find(name);
  lg->set_level(it != s.levels.end() ? it->second : s.default_level);
  spdlog::register_logger(lg);
  return lg;
}

}  // namespace

namespace {

struct LevelSpec {
  spdlog::level::level_enum default_level = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum> levels;
};

Result<LevelSpec> parse_spec(const std::string& spec) {
  LevelSpec out;
  auto& default_level = out.default_level;
  auto& levels = out.levels;
  std::size_t start = 0;
  while (start <= spec.size()) {
    auto comma = spec.find(',', start);
    std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? spec.size() + 1 : comma + 1;
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string::npos) {
      CIRO_TRY(default_level, parse_level(part));
      continue;
    }
    std::string target = part.substr(0, eq);
    CIRO_TRY(auto lv, parse_level(part.substr(eq + 1)));
    // RUST_LOG users write crate paths (ciro_worker=debug, ciro::compute=trace): the last path
    // segment names a subsystem when it is one, otherwise the whole node.
    auto colons = target.rfind("::");
    std::string last = colons == std::string::npos ? target : target.substr(colons + 2);
    bool known = false;
    for (const auto& s : SUBSYSTEMS) known = known || s == last;
    if (known)
      levels[last] = lv;
    else
      default_level = lv;
  }
  return out;
}

}  // namespace

Result<void> check_log_level(const std::string& spec) {
  CIRO_TRY(auto parsed, parse_spec(spec));
  (void)parsed;
  return {};
}

Result<void> init_logging(const LogOptions& options) {
  CIRO_TRY(const LevelSpec parsed, parse_spec(options.level));
  const auto default_level = parsed.default_level;
  const auto& levels = parsed.levels;
  if (options.format != "text" && options.format != "json") {
    return Error(Errc::invalid_argument, "log format '" + options.format + "': use text or json");
  }
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (options.format == "json") {
    s.sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    s.sink->set_formatter(text_formatter());
  }
  s.default_level = default_level;
  s.levels = levels;
  spdlog::drop_all();
  for (const auto& name : SUBSYSTEMS) make_logger_locked(s, name);
  return {};
}

std::shared_ptr<spdlog::logger> logger(const std::string& subsystem) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (auto existing = spdlog::get(subsystem)) return existing;
  if (!s.sink) {
    s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    s.sink->set_formatter(text_formatter());
  }
  return make_logger_locked(s, subsystem);
}

}  // namespace ciro::utils
