// memx: parsing of the settings users give memx (environment variables, flags).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace memx {

/// Parses a duration such as "10ms", "250us", "1s" or "10" (milliseconds). Must be > 0.
std::optional<std::chrono::microseconds> parse_duration(std::string_view text) noexcept;

/// Parses a byte size: a whole number with an optional unit B, KB/MB/GB/TB (powers of
/// 1000) or KiB/MiB/GiB/TiB (powers of 1024), for example "4MiB", "512", "10 KB".
std::optional<std::uint64_t> parse_size(std::string_view text) noexcept;

/// Parses 1/0, true/false, yes/no, on/off (any case).
std::optional<bool> parse_bool(std::string_view text) noexcept;

/// Reads a duration from the environment. An unset or empty variable gives the default;
/// an unparsable one prints one line on stderr naming the variable and the value, and
/// gives the default.
std::chrono::microseconds env_duration(const char* name, std::chrono::microseconds fallback);

/// Reads a boolean from the environment, with the same error handling as env_duration.
bool env_bool(const char* name, bool fallback);

/// Reads a whole number in [min, max] from the environment, same error handling.
std::int64_t env_int(const char* name, std::int64_t fallback, std::int64_t min, std::int64_t max);

/// Interval of the RSS sampler: MEMX_SAMPLE_INTERVAL, 10 ms when unset or invalid.
std::chrono::microseconds sample_interval();

/// Prints one line on stderr for each MEMX_* variable that memx does not know (a typo
/// such as MEMX_SAMPLE_INTERVALL would otherwise be silently ignored).
void warn_unknown_environment();

}  // namespace memx
