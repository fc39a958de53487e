// The end-of-run summary printed by the plugins: budgets broken, leaks, highest peaks.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "memx/session.hpp"
#include "memx/uncounted.hpp"
#include "memx/units.hpp"
#include "session/session_impl.hpp"

namespace memx {
namespace {

constexpr const char* kPrefix = "[   memx   ] ";
constexpr std::size_t kTopPeaks = 5;

struct Painter {
  bool color;
  std::string operator()(const char* ansi, const std::string& text) const {
    return color ? fmt::format("\033[{}m{}\033[m", ansi, text) : text;
  }
};

std::int64_t max_peak(const TestRecord& t) {
  std::int64_t p = 0;
  for (const RunRecord& r : t.runs) p = std::max(p, r.peak_bytes);
  return p;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::string Session::summary(bool color) const {
  Uncounted guard;
  const Impl& m = *impl_;
  const Painter paint{color};
  const char* kRed = "0;31";
  const char* kGreen = "0;32";
  const char* kYellow = "0;33";

  if (!m.report.measured) {
    // Never a clean summary on figures that were not taken.
    std::string out = paint(kYellow, kPrefix) +
                      fmt::format("{} ran, nothing measured: {} replaces memx's operator new "
                                  "(no figures, budgets not checked, no leak verdicts)\n",
                                  plural(m.report.tests.size(), "test", "tests"),
                                  m.report.tool.empty() ? "another tool or library" : m.report.tool);
    for (const TestRecord& t : m.report.tests) {
      if (m.bad_budget.count(t.name) != 0) {
        out += paint(kRed, kPrefix) + fmt::format("malformed budget: {}\n", t.name);
      }
    }
    return out;
  }

  std::vector<const TestRecord*> budget_broken, leaks, by_peak;
  std::size_t suspects = 0;
  for (const TestRecord& t : m.report.tests) {
    if (!t.violations.empty() || m.bad_budget.count(t.name) != 0 || m.over_budget.count(t.name) != 0) {
      budget_broken.push_back(&t);
    }
    if (t.leak.verdict == Verdict::leak) leaks.push_back(&t);
    if (t.leak.verdict == Verdict::suspect) ++suspects;
    if (max_peak(t) > 0) by_peak.push_back(&t);
  }
  std::stable_sort(by_peak.begin(), by_peak.end(), [](const TestRecord* a, const TestRecord* b) {
    return max_peak(*a) > max_peak(*b);
  });
  if (by_peak.size() > kTopPeaks) by_peak.resize(kTopPeaks);

  std::string out;
  const std::size_t n = m.report.tests.size();
  if (budget_broken.empty() && leaks.empty()) {
    std::string line = fmt::format("{} measured, none over budget, no leaks", plural(n, "test", "tests"));
    if (suspects > 0) line += fmt::format(" ({} suspect)", suspects);
    if (!by_peak.empty()) {
      line += fmt::format("; highest peak {} ({})", format_bytes(max_peak(*by_peak.front())),
                          printable_name(by_peak.front()->name));
    }
    return paint(kGreen, kPrefix) + line + "\n";
  }

  out += paint(kRed, kPrefix) +
         fmt::format("{} measured: {} over budget, {} leaking{}\n", plural(n, "test", "tests"),
                     budget_broken.size(), leaks.size(),
                     suspects > 0 ? fmt::format(", {} suspect", suspects) : std::string());
  for (const TestRecord* t : budget_broken) {
    std::string what;
    for (const ViolationRecord& v : t->violations) {
      if (!what.empty()) what += "; ";
      what += v.message;
    }
    if (what.empty()) what = "malformed budget";
    out += paint(kRed, kPrefix) + fmt::format("over budget: {}: {}\n", printable_name(t->name), what);
  }
  for (const TestRecord* t : leaks) {
    out += paint(kYellow, kPrefix) +
           fmt::format("leak: {}: {} in {:g} block{} per repetition ({} confidence)\n", printable_name(t->name),
                       format_bytes(static_cast<std::int64_t>(t->leak.bytes_per_run + 0.5)),
                       t->leak.blocks_per_run, t->leak.blocks_per_run == 1.0 ? "" : "s",
                       to_string(t->leak.confidence));
  }
  if (!by_peak.empty()) {
    std::string line = "highest peaks:";
    for (const TestRecord* t : by_peak) line += fmt::format(" {} {},", printable_name(t->name), format_bytes(max_peak(*t)));
    line.pop_back();
    out += paint(kGreen, kPrefix) + line + "\n";
  }
  return out;
}

}  // namespace memx
