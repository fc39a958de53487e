// Human-readable sizes and counts.
#include "memx/units.hpp"

#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace memx {
namespace {

// Formats |magnitude| / base^k with one decimal (".0" dropped), moving to the next unit
// when rounding reaches the base (1023.96 KiB prints as "1 MiB", not "1024 KiB").
std::string scaled(std::uint64_t magnitude, bool negative, std::uint64_t base,
                   const char* const* units, int unit_count, const char* separator) {
  const char* sign = negative ? "-" : "";
  if (magnitude < base) return fmt::format("{}{}{}{}", sign, magnitude, separator, units[0]);
  int unit = 0;
  long double value = static_cast<long double>(magnitude);
  while (unit + 1 < unit_count && value >= static_cast<long double>(base)) {
    value /= static_cast<long double>(base);
    ++unit;
  }
  // Tenths, rounded half up.
  auto tenths = static_cast<std::uint64_t>(value * 10 + 0.5L);
  if (tenths >= base * 10 && unit + 1 < unit_count) {
    tenths = static_cast<std::uint64_t>(value * 10 / static_cast<long double>(base) + 0.5L);
    ++unit;
  }
  if (tenths % 10 == 0) return fmt::format("{}{}{}{}", sign, tenths / 10, separator, units[unit]);
  return fmt::format("{}{}.{}{}{}", sign, tenths / 10, tenths % 10, separator, units[unit]);
}

std::uint64_t magnitude_of(std::int64_t v) {
  // Safe for INT64_MIN: negate in unsigned arithmetic.
  return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}

}  // namespace

std::string format_bytes(std::int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB"};
  return scaled(magnitude_of(bytes), bytes < 0, 1024, kUnits, 4, " ");
}

std::string format_count(std::uint64_t count) {
  static const char* const kUnits[] = {"", "k", "M", "G"};
  return scaled(count, false, 1000, kUnits, 4, "");
}

std::string printable_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == 0xc2 && i + 1 < name.size() &&
               static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(name[i + 1]) <= 0x9f) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(name[i + 1]));
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace memx
