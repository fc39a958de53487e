// memx: human-readable byte sizes and counts for messages and reports.
#pragma once

#include <cstdint>
#include <string>

namespace memx {

/// Formats a byte count for people: "512 B" below 1 KiB, then "1.5 KiB", "4 MiB", "1.2 GiB"
/// (one decimal, dropped when it is zero). Negative values keep their sign.
std::string format_bytes(std::int64_t bytes);

/// Formats a count for people: "950", then "12.3k", "4M", "1.1G" (powers of 1000, one
/// decimal, dropped when it is zero).
std::string format_count(std::uint64_t count);

}  // namespace memx
