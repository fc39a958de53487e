// memx CLI: tolerances, the allow-list and the gate's regressions.
#include "gate_rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)

#include "memx/budget.hpp"
#include "memx/suppressions.hpp"
#include "memx/units.hpp"

namespace memx::cli {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// A plain decimal number: digits with at most one '.', at least one digit.
std::optional<double> plain_decimal(std::string_view s) {
  if (s.empty() || s.size() > 30) return std::nullopt;
  bool dot = false, digit = false;
  for (char c : s) {
    if (c == '.') {
      if (dot) return std::nullopt;
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else {
      return std::nullopt;
    }
  }
  if (!digit) return std::nullopt;
  return std::strtod(std::string(s).c_str(), nullptr);
}

std::int64_t saturating_sub(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) {
    return b < 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return out;
}

std::int64_t clamp_to_int64(std::uint64_t v) {
  return v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(v);
}

std::string signed_amount(std::int64_t v, bool bytes) {
  if (bytes) return (v > 0 ? "+" : "") + format_bytes(v);
  const std::uint64_t magnitude =
      v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  return (v > 0 ? "+" : v < 0 ? "-" : "") + format_count(magnitude);
}

std::string amount(std::int64_t v, bool bytes) {
  if (bytes) return format_bytes(v);
  return v < 0 ? signed_amount(v, false) : format_count(static_cast<std::uint64_t>(v));
}


}  // namespace

std::int64_t Tolerance::allowed_growth(std::int64_t base) const {
  std::int64_t allowed = amount.value_or(0);
  if (percent && base > 0) {
    const long double relative = static_cast<long double>(base) * (*percent) / 100.0L;
    const std::int64_t r =
        relative >= 9.2e18L ? std::numeric_limits<std::int64_t>::max()
                            : static_cast<std::int64_t>(std::floor(relative));
    allowed = std::max(allowed, r);
  }
  return allowed;
}

std::string Tolerance::describe(bool bytes) const {
  if (!gated) return "off";
  std::vector<std::string> parts;
  if (percent) parts.push_back(fmt::format("{}%", *percent));
  if (amount) parts.push_back(bytes ? format_bytes(*amount) : std::to_string(*amount));
  if (parts.empty()) return bytes ? "0 B" : "0";
  return fmt::format("{}", fmt::join(parts, " or "));
}

ToleranceParse parse_tolerance(std::string_view text, bool bytes) {
  ToleranceParse out;
  const std::string_view whole = trim(text);
  auto fail = [&](std::string_view why) {
    out.error = fmt::format(
        "\"{}\": {} (expected a percentage such as 10%, {}, both such as 10%,{}, or off)",
        text, why, bytes ? "a size such as 4KiB" : "a count such as 100",
        bytes ? "4KiB" : "100");
    return out;
  };
  if (whole == "off" || whole == "none") {
    out.tolerance = Tolerance{false, std::nullopt, std::nullopt};
    return out;
  }
  Tolerance t;
  std::string_view rest = whole;
  if (rest.empty()) return fail("empty");
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view term = trim(rest.substr(0, comma));
    if (term.empty()) return fail("empty term");
    if (term.back() == '%') {
      const auto pct = plain_decimal(term.substr(0, term.size() - 1));
      if (!pct) return fail(fmt::format("\"{}\" is not a percentage", term));
      if (*pct > 1.0e6) return fail(fmt::format("{} is too large", term));
      if (t.percent) return fail("two percentages");
      t.percent = *pct;
    } else {
      if (term.find_first_of("= \t") != std::string_view::npos) {
        return fail(fmt::format("\"{}\" is not a {}", term, bytes ? "size" : "count"));
      }
      const BudgetParse b = parse_budget(fmt::format("{}={}", bytes ? "peak" : "allocs", term));
      if (!b.budget) return fail(fmt::format("\"{}\" is not a {}", term, bytes ? "size" : "count"));
      if (t.amount) return fail(bytes ? "two sizes" : "two counts");
      t.amount = bytes ? b.budget->peak : b.budget->allocs;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  out.tolerance = t;
  return out;
}

bool AllowList::allows(std::string_view name) const {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return glob_whole(p, name); });
}

AllowListParse parse_allow_list(std::string_view text, std::string_view source) {
  AllowListParse out;
  AllowList list;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t' && c != '\r') || u == 0x7f) {
        out.error = fmt::format("{}:{}: control character 0x{:02x}: not an allow-list (one test "
                                "name or pattern per line)",
                                source, line_number, u);
        return out;
      }
    }
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (const std::size_t reason = line.find(" #"); reason != std::string_view::npos) {
      line = trim(line.substr(0, reason));
    }
    list.patterns.emplace_back(line);
  }
  out.list = std::move(list);
  return out;
}

std::string describe_change(std::int64_t base, std::int64_t now, bool bytes) {
  const std::int64_t delta = saturating_sub(now, base);
  std::string out = signed_amount(delta, bytes);
  if (base > 0) {
    const double pct = 100.0 * static_cast<double>(delta) / static_cast<double>(base);
    out += fmt::format(", {:+.1f}%", pct);
  }
  return out;
}

std::vector<Regression> find_regressions(const std::vector<TestDiff>& diffs,
                                         const GateRules& rules) {
  std::vector<Regression> out;
  for (const TestDiff& d : diffs) {
    if (!d.now) continue;
    const bool allowed = rules.allow.allows(d.name) || rules.allow.allows(d.label());
    if (d.newly_leaks()) {
      Regression r{d.label(), "leak", d.base ? to_string(d.base->leak.verdict) : "",
                   "leak", "", "", allowed, ""};
      r.detail = fmt::format(
          "newly leaks {} in {} block{} per run ({} confidence; {})",
          format_bytes(static_cast<std::int64_t>(std::llround(d.now->leak.bytes_per_run))),
          fmt::format("{:g}", d.now->leak.blocks_per_run),
          d.now->leak.blocks_per_run == 1.0 ? "" : "s", to_string(d.now->leak.confidence),
          d.base ? fmt::format("baseline: {}", to_string(d.base->leak.verdict))
                 : std::string("a new test"));
      r.message = fmt::format("{}: {}", printable_name(d.label()), r.detail);
      out.push_back(std::move(r));
    }
    if (d.newly_over_budget()) {
      std::vector<std::string> what;
      for (const ViolationRecord& v : d.now->violations) what.push_back(v.message);
      Regression r{d.label(), "budget", d.base ? "within budget" : "", "over budget", "", "",
                   allowed, ""};
      r.message = fmt::format("{}: newly over budget: {}", printable_name(d.label()), fmt::join(what, "; "));
      r.detail = fmt::format("newly over budget: {}", fmt::join(what, ", "));
      out.push_back(std::move(r));
    }
    if (!d.base) continue;
    const TestFigures a = compared_figures(*d.base);
    const TestFigures b = compared_figures(*d.now);
    if (a.runs == 0 || b.runs == 0) continue;
    struct Figure {
      const char* name;
      const Tolerance& tolerance;
      std::int64_t base;
      std::int64_t now;
      bool bytes;
    };
    const Figure figures[] = {
        {"peak", rules.peak, a.peak_bytes, b.peak_bytes, true},
        {"net", rules.net, a.net_bytes, b.net_bytes, true},
        {"allocs", rules.allocs, clamp_to_int64(a.allocs), clamp_to_int64(b.allocs), false},
        {"rss", rules.rss, a.rss_peak_bytes, b.rss_peak_bytes, true},
    };
    for (const Figure& f : figures) {
      if (!f.tolerance.gated) continue;
      if (saturating_sub(f.now, f.base) <= f.tolerance.allowed_growth(f.base)) continue;
      Regression r{d.label(), f.name, amount(f.base, f.bytes), amount(f.now, f.bytes),
                   describe_change(f.base, f.now, f.bytes), "", allowed, ""};
      r.message = fmt::format("{}: {} {} -> {} ({}) exceeds the tolerance {}", printable_name(d.label()), f.name,
                              r.base, r.now, r.change, f.tolerance.describe(f.bytes));
      r.detail = fmt::format("{} {} -> {} ({}; tolerance {})", f.name, r.base, r.now, r.change,
                             f.tolerance.describe(f.bytes));
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<TestRegressions> group_by_test(const std::vector<Regression>& regressions) {
  std::vector<TestRegressions> out;
  for (const Regression& r : regressions) {
    // find_regressions gives a test's regressions one after another.
    if (out.empty() || out.back().test != r.test) {
      out.push_back(TestRegressions{r.test, r.allowed, {}, printable_name(r.test) + ":"});
    }
    TestRegressions& t = out.back();
    t.line += (t.found.empty() ? " " : "; ") + r.detail;
    t.found.push_back(&r);
  }
  return out;
}

}  // namespace memx::cli
