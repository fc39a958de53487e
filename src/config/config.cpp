// Parsers of user-given settings and the environment readers built on them.
#include "memx/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "memx/uncounted.hpp"

extern char** environ;

namespace memx {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

/// Splits "123unit" into the number and the unit; false without digits or on overflow.
bool split_number(std::string_view s, std::uint64_t& value, std::string_view& unit) noexcept {
  s = trim(s);
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    const auto digit = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  value = v;
  unit = trim(s.substr(i));
  return true;
}

/// One line on stderr, written with write(2) so that no stdio buffer is allocated.
void warn_line(const char* line) noexcept {
  const std::size_t n = std::strlen(line);
  ssize_t rc = ::write(STDERR_FILENO, line, n);
  (void)rc;
}

void warn_bad_value(const char* name, const char* value, const char* expected,
                    const char* fallback) noexcept {
  char line[512];
  std::snprintf(line, sizeof line, "memx: ignoring %s=\"%.200s\": expected %s; using %s\n", name,
                value, expected, fallback);
  warn_line(line);
}

}  // namespace

std::optional<std::chrono::microseconds> parse_duration(std::string_view text) noexcept {
  std::uint64_t v = 0;
  std::string_view unit;
  if (!split_number(text, v, unit)) return std::nullopt;
  std::uint64_t scale = 0;  // microseconds per unit
  if (unit.empty() || unit == "ms") scale = 1000;
  else if (unit == "us") scale = 1;
  else if (unit == "s") scale = 1000000;
  else return std::nullopt;
  if (v == 0 || v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / scale) {
    return std::nullopt;
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(v * scale));
}

std::optional<std::uint64_t> parse_size(std::string_view text) noexcept {
  std::uint64_t v = 0;
  std::string_view unit;
  if (!split_number(text, v, unit)) return std::nullopt;
  struct Unit { const char* name; std::uint64_t scale; };
  static constexpr Unit kUnits[] = {
      {"", 1}, {"B", 1},
      {"KB", 1000ull}, {"MB", 1000ull * 1000}, {"GB", 1000ull * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000},
      {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
  };
  for (const Unit& u : kUnits) {
    if (unit == u.name) {
      if (v > std::numeric_limits<std::uint64_t>::max() / u.scale) return std::nullopt;
      return v * u.scale;
    }
  }
  return std::nullopt;
}

std::optional<bool> parse_bool(std::string_view text) noexcept {
  text = trim(text);
  for (const char* t : {"1", "true", "yes", "on"}) {
    if (iequals(text, t)) return true;
  }
  for (const char* f : {"0", "false", "no", "off"}) {
    if (iequals(text, f)) return false;
  }
  return std::nullopt;
}

std::chrono::microseconds env_duration(const char* name, std::chrono::microseconds fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  if (auto d = parse_duration(value)) return *d;
  char shown[64];
  std::snprintf(shown, sizeof shown, "%lldus", static_cast<long long>(fallback.count()));
  warn_bad_value(name, value, "a positive duration such as 10ms, 500us or 1s", shown);
  return fallback;
}

bool env_bool(const char* name, bool fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  if (auto b = parse_bool(value)) return *b;
  warn_bad_value(name, value, "1/0, true/false, yes/no or on/off", fallback ? "1" : "0");
  return fallback;
}

std::int64_t env_int(const char* name, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  std::uint64_t v = 0;
  std::string_view unit;
  if (split_number(value, v, unit) && unit.empty() &&
      v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) &&
      static_cast<std::int64_t>(v) >= min && static_cast<std::int64_t>(v) <= max) {
    return static_cast<std::int64_t>(v);
  }
  char expected[96], shown[32];
  std::snprintf(expected, sizeof expected, "a whole number from %lld to %lld",
                static_cast<long long>(min), static_cast<long long>(max));
  std::snprintf(shown, sizeof shown, "%lld", static_cast<long long>(fallback));
  warn_bad_value(name, value, expected, shown);
  return fallback;
}

std::chrono::microseconds sample_interval() {
  static const std::chrono::microseconds interval =
      env_duration("MEMX_SAMPLE_INTERVAL", std::chrono::milliseconds(10));
  return interval;
}

void warn_unknown_environment() {
  static constexpr const char* kKnown[] = {
      "MEMX_SAMPLE_INTERVAL", "MEMX_BUDGET", "MEMX_REPORT", "MEMX_FAIL_ON_LEAK",
      "MEMX_REPEAT",          "MEMX_COLOR",  "MEMX_QUIET",        "MEMX_PROPERTIES", "MEMX_REPORT_OWNER",
      "MEMX_STACKS",          "MEMX_SITES",  "MEMX_WARN_ONLY",    "MEMX_THREADS",    "MEMX_SUPPRESSIONS",
      "MEMX_REPORT_OPTIONAL", "MEMX_CTEST_MEASUREMENTS", "MEMX_BREAK_ON_ALLOC", "MEMX_RESOURCES",
      "MEMX_WATCH",           "MEMX_WATCH_REPORT",  // memx::watch (docs/leak-watch.md)
      "MEMX_UNWINDER",        "MEMX_UNWIND_VERIFY",  // stack mode's debugging aids (docs/stacks.md)
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind("MEMX_", 0) != 0) continue;
    const std::string_view name = entry.substr(0, entry.find('='));
    bool known = false;
    for (const char* k : kKnown) known = known || name == k;
    if (known) continue;
    char line[256];
    std::snprintf(line, sizeof line, "memx: ignoring unknown environment variable %.*s\n",
                  static_cast<int>(std::min<std::size_t>(name.size(), 120)), name.data());
    warn_line(line);
  }
}

}  // namespace memx
