// memx: human-readable byte sizes, counts and test names for messages and reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace memx {

/// Formats a byte count for people: "512 B" below 1 KiB, then "1.5 KiB", "4 MiB", "1.2 GiB"
/// (one decimal, dropped when it is zero). Negative values keep their sign.
std::string format_bytes(std::int64_t bytes);

/// Formats a count for people: "950", then "12.3k", "4M", "1.1G" (powers of 1000, one
/// decimal, dropped when it is zero).
std::string format_count(std::uint64_t count);

/// A test name safe to print on a terminal or in Markdown: control characters (C0, DEL and
/// the C1 controls U+0080-U+009F, which start escape, OSC and CSI sequences) are written as
/// "\n", "\r", "\t", "\x1b" or "\u009b"; everything else is kept.
std::string printable_name(std::string_view name);

}  // namespace memx
