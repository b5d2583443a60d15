#pragma once
// Parsing of human-written sizes ("512MiB", "8GB", "1024") and durations ("30s", "5m", "250ms").

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "utils/result.h"

namespace ciro::utils {

/// Bytes from "123", "512KiB", "8GB", "1.5GiB" (B, KB/MB/GB/TB are powers of 1000; KiB/MiB/GiB/TiB
/// of 1024; K/M/G/T alone are treated as KiB/MiB/GiB/TiB as Docker does). Case-insensitive units.
Result<std::uint64_t> parse_size(std::string_view text);
/// Durations: "250ms", "30s", "5m", "2h", "1d", a bare number is seconds; "1m30s" combinations.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

/// "512MiB", "1.5GiB", "100B": the shortest exact-ish human form (binary units).
std::string format_size(std::uint64_t bytes);
/// "1h2m3s", "250ms", "0s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace ciro::utils
