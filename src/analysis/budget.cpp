// Budget strings: parsing, printing, checking.
#include "memx/budget.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "memx/units.hpp"

namespace memx {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

enum class Kind { size, count };

constexpr const char* kKnownKeys = "peak, net, blocks, allocs, rss, leak, fds, threads, warn";

struct KeyInfo {
  std::string_view name;
  Kind kind;
  std::optional<std::int64_t> Budget::*field;
};

constexpr KeyInfo kKeys[] = {
    {"peak", Kind::size, &Budget::peak},      {"net", Kind::size, &Budget::net},
    {"blocks", Kind::count, &Budget::blocks}, {"allocs", Kind::count, &Budget::allocs},
    {"rss", Kind::size, &Budget::rss},        {"leak", Kind::count, &Budget::leak},
    {"fds", Kind::count, &Budget::fds},       {"threads", Kind::count, &Budget::threads_left},
};

struct Unit {
  std::string_view name;
  std::int64_t factor;
};

constexpr Unit kUnits[] = {
    {"B", 1},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", std::int64_t{1024} * 1024 * 1024},
};

bool is_separator(char c) {
  return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The outcome of parsing one value; `error` is a message without the "memx budget" prefix.
struct ValueParse {
  std::int64_t value = 0;
  std::string error;
};

// Parses the value of `token` (`key=value`) for a key of the given kind.
ValueParse parse_value(std::string_view key, Kind kind, std::string_view value,
                       std::string_view token) {
  ValueParse out;
  if (value.empty()) {
    out.error = fmt::format("empty value in \"{}\"", token);
    return out;
  }
  if (value.front() == '-') {
    out.error = fmt::format("negative value \"{}\" in \"{}\": a budget is a limit of 0 or more "
                            "(net=0 allows no growth)",
                            value, token);
    return out;
  }
  std::size_t i = 0;
  while (i < value.size() && is_digit(value[i])) ++i;
  const std::string_view whole = value.substr(0, i);
  std::string_view fraction;
  if (i < value.size() && value[i] == '.') {
    const std::size_t start = ++i;
    while (i < value.size() && is_digit(value[i])) ++i;
    fraction = value.substr(start, i - start);
  }
  const std::string_view number = value.substr(0, i);
  const std::string_view unit = value.substr(i);
  if (whole.empty() || (number.size() > whole.size() && fraction.empty())) {
    out.error = fmt::format("invalid number \"{}\" in \"{}\"", value, token);
    return out;
  }
  if (kind == Kind::count && (!fraction.empty() || !unit.empty())) {
    out.error =
        fmt::format("\"{}\" takes a plain whole number, not \"{}\" in \"{}\"", key, value, token);
    return out;
  }
  std::int64_t factor = 1;
  if (!unit.empty()) {
    bool known = false;
    for (const Unit& u : kUnits) {
      if (u.name == unit) {
        factor = u.factor;
        known = true;
        break;
      }
    }
    if (!known) {
      out.error = fmt::format("unknown unit \"{}\" in \"{}\" (use B, KB, MB, GB, KiB, MiB, GiB)",
                              unit, token);
      return out;
    }
  }
  const std::string too_large =
      fmt::format("value \"{}\" in \"{}\" is too large (at most {} bytes)", value, token, kMax);
  // whole * factor, checked.
  std::int64_t result = 0;
  for (char c : whole) {
    const int digit = c - '0';
    if (result > (kMax - digit) / 10) {
      out.error = too_large;
      return out;
    }
    result = result * 10 + digit;
  }
  if (result > kMax / factor) {
    out.error = too_large;
    return out;
  }
  result *= factor;
  // + fraction * factor, rounded down to whole bytes. factor <= 2^30 and we keep at most
  // nine fraction digits, so the products stay below 2^63.
  if (!fraction.empty()) {
    std::int64_t numerator = 0;
    std::int64_t denominator = 1;
    for (std::size_t d = 0; d < fraction.size() && d < 9; ++d) {
      numerator = numerator * 10 + (fraction[d] - '0');
      denominator *= 10;
    }
    const std::int64_t extra = numerator * factor / denominator;
    if (result > kMax - extra) {
      out.error = too_large;
      return out;
    }
    result += extra;
  }
  out.value = result;
  return out;
}

// Prints a size exactly, in the largest binary unit that divides it.
std::string exact_size(std::int64_t bytes) {
  if (bytes > 0) {
    for (int u = 6; u >= 4; --u) {  // GiB, MiB, KiB
      if (bytes % kUnits[u].factor == 0) {
        return fmt::format("{}{}", bytes / kUnits[u].factor, kUnits[u].name);
      }
    }
  }
  return fmt::format("{}", bytes);
}

std::string format_for(std::string_view key, std::int64_t v) {
  if (key == "blocks" || key == "allocs" || key == "leak" || key == "fds" || key == "threads") {
    return v < 0 ? fmt::format("{}", v) : format_count(static_cast<std::uint64_t>(v));
  }
  return format_bytes(v);
}

}  // namespace

const char* to_string(Threads t) {
  return t == Threads::current ? "current" : "all";
}

bool Budget::empty() const {
  return !peak && !net && !blocks && !allocs && !rss && !leak && !threads && !fds && !threads_left &&
         !warn;
}

Budget Budget::overridden_by(const Budget& more_specific) const {
  Budget out = *this;
  for (const KeyInfo& k : kKeys) {
    if (more_specific.*k.field) out.*k.field = more_specific.*k.field;
  }
  if (more_specific.threads) out.threads = more_specific.threads;
  if (more_specific.warn) out.warn = more_specific.warn;
  return out;
}

BudgetParse parse_budget(std::string_view text) {
  BudgetParse out;
  Budget budget;
  auto fail = [&](const std::string& what) {
    out.error = fmt::format("memx budget \"{}\": {}", text, what);
    return out;
  };
  // A NUL byte would end the text for any C caller: what follows it would be lost.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    out.error = fmt::format("memx budget \"{}\": a NUL byte at offset {} (a budget is text "
                            "without NUL bytes)",
                            printable_name(text), nul);
    return out;
  }
  auto is_space = [](char c) { return c != ',' && is_separator(c); };
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (is_separator(text[pos])) {
      ++pos;
      continue;
    }
    // key [spaces] '=' [spaces] value: spaces around '=' (and around ',') are allowed.
    const std::size_t start = pos;
    while (pos < text.size() && !is_separator(text[pos]) && text[pos] != '=') ++pos;
    const std::string_view key = text.substr(start, pos - start);
    std::size_t after_key = pos;
    while (after_key < text.size() && is_space(text[after_key])) ++after_key;
    const bool has_value = after_key < text.size() && text[after_key] == '=';
    if (key == "warn") {
      // A flag, not a limit: "net=0, warn".
      if (has_value) {
        return fail("\"warn\" takes no value (write \"warn\" alone, e.g. \"net=0, warn\")");
      }
      if (budget.warn) return fail("duplicate key \"warn\"");
      budget.warn = true;
      pos = after_key;
      continue;
    }
    if (!has_value) {
      return fail(fmt::format("missing '=' in \"{}\" (expected key=value, e.g. peak=4MiB)", key));
    }
    pos = after_key + 1;
    while (pos < text.size() && is_space(text[pos])) ++pos;
    const std::size_t value_start = pos;
    while (pos < text.size() && !is_separator(text[pos])) ++pos;
    std::string_view value = text.substr(value_start, pos - value_start);
    if (value_start > after_key + 1 && value.find('=') != std::string_view::npos) {
      // "net= peak=1": the value is missing, the next pair starts after the spaces.
      pos = value_start;
      value = std::string_view();
    }
    std::string_view token = text.substr(start, pos - start);
    while (!token.empty() && is_separator(token.back())) token.remove_suffix(1);
    // threads=current|all says whose allocations count; threads=N limits the threads left
    // running (below, with the other limits).
    if (key == "threads" && !value.empty() && !is_digit(value.front()) && value.front() != '-') {
      if (budget.threads) return fail(fmt::format("duplicate key \"threads\" in \"{}\"", token));
      if (value == "current") {
        budget.threads = Threads::current;
      } else if (value == "all") {
        budget.threads = Threads::all;
      } else {
        return fail(fmt::format("unknown threads value \"{}\" in \"{}\" (use current or all, or "
                                "a whole number: the threads the test may leave running)",
                                value, token));
      }
      continue;
    }
    const KeyInfo* info = nullptr;
    for (const KeyInfo& k : kKeys) {
      if (k.name == key) info = &k;
    }
    if (info == nullptr) {
      return fail(fmt::format("unknown key \"{}\" in \"{}\" (use {})", key, token, kKnownKeys));
    }
    if (budget.*info->field) return fail(fmt::format("duplicate key \"{}\" in \"{}\"", key, token));
    ValueParse v = parse_value(key, info->kind, value, token);
    if (!v.error.empty()) return fail(v.error);
    budget.*info->field = v.value;
  }
  out.budget = budget;
  return out;
}

std::string to_string(const Budget& budget) {
  std::string out;
  for (const KeyInfo& k : kKeys) {
    const std::optional<std::int64_t>& v = budget.*k.field;
    if (!v) continue;
    if (!out.empty()) out += ", ";
    out += k.name;
    out += '=';
    out += k.kind == Kind::size ? exact_size(*v) : fmt::format("{}", *v);
  }
  auto add = [&out](const std::string& item) {
    if (!out.empty()) out += ", ";
    out += item;
  };
  if (budget.threads) add(fmt::format("threads={}", to_string(*budget.threads)));
  if (budget.warn.value_or(false)) add("warn");
  return out;
}

std::vector<Violation> check_budget(const Budget& budget, const Measurement& m) {
  const std::int64_t allocs =
      m.allocs > static_cast<std::uint64_t>(kMax) ? kMax : static_cast<std::int64_t>(m.allocs);
  const std::int64_t measured[] = {m.peak_bytes, m.net_bytes, m.net_blocks, allocs,
                                   m.rss_peak_bytes};
  static_assert(std::size(measured) + 3 == std::size(kKeys), "leak, fds, threads follow");
  std::vector<Violation> out;
  auto check = [&](const KeyInfo& k, std::int64_t value) {
    const std::optional<std::int64_t>& allowed = budget.*k.field;
    if (allowed && value > *allowed) out.push_back(Violation{std::string(k.name), value, *allowed});
  };
  for (std::size_t i = 0; i < std::size(measured); ++i) check(kKeys[i], measured[i]);
  check(kKeys[6], m.fds);
  check(kKeys[7], m.threads);
  return out;
}

std::string describe(const Violation& v) {
  if (v.key == "leak") {
    if (v.measured == v.allowed) {
      return fmt::format("leaks {} blocks per repetition on average but not as many every "
                         "repetition, its budget expects {} each time (leak={})",
                         v.measured, v.allowed, v.allowed);
    }
    return fmt::format("leaks {} block{} per repetition, its budget expects {} (leak={})",
                       v.measured, v.measured == 1 ? "" : "s", v.allowed, v.allowed);
  }
  if (v.key == "fds" || v.key == "threads") {
    const bool fds = v.key == "fds";
    return fmt::format("leaves {} {} {}, its budget allows {} ({}={})", v.measured,
                       fds ? (v.measured == 1 ? "descriptor" : "descriptors")
                           : (v.measured == 1 ? "thread" : "threads"),
                       fds ? "open" : "running", v.allowed, v.key, v.allowed);
  }
  // measured > allowed >= 0 for real violations; compute the excess without overflow.
  const std::int64_t excess =
      (v.allowed < 0 && v.measured > kMax + v.allowed) ? kMax : v.measured - v.allowed;
  return fmt::format("{} {} exceeds budget {} (+{})", v.key, format_for(v.key, v.measured),
                     format_for(v.key, v.allowed), format_for(v.key, excess));
}

}  // namespace memx
