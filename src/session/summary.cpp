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

/// True when a run of the test left descriptors or threads behind.
bool left_resources(const TestRecord& t) {
  for (const RunRecord& r : t.runs) {
    if (r.fds > 0 || r.threads > 0) return true;
  }
  return false;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

void Session::Impl::tally_test(SummaryTally& out, std::size_t i) const {
  const TestRecord& t = report.tests[i];
  bool enforced = bad_budget.count(t.name) != 0;
  bool any = enforced || over_budget.count(t.name) != 0;
  for (const ViolationRecord& v : t.violations) {
    any = true;
    enforced = enforced || v.enforced;
  }
  const bool warn = config.options.warn_only || (t.budget && t.budget->warn.value_or(false));
  if (any && (enforced || (t.violations.empty() && !warn))) {
    out.budget_broken.push_back(i);
  } else if (any) {
    out.warned.push_back(i);
  }
  if (t.leak.reported_leak()) (warn ? out.warned_leaks : out.leaks).push_back(i);
  if (t.leak.verdict == Verdict::leak && !t.leak.suppressed_by.empty()) out.suppressed.push_back(i);
  if (t.leak.verdict == Verdict::suspect) ++out.suspects;
  if (t.leak.verdict == Verdict::expected) ++out.expected;
  // The kTopPeaks highest, equal peaks in the run's order: a test enters only above the
  // lowest kept (no list of every test with a peak).
  const std::int64_t peak = max_peak(t);
  auto& top = out.by_peak;
  if (peak > 0 && (top.size() < kTopPeaks || peak > top.back().first)) {
    const auto at = std::upper_bound(top.begin(), top.end(), peak,
                                     [](std::int64_t p, const std::pair<std::int64_t, std::size_t>& k) { return p > k.first; });
    top.insert(at, {peak, i});
    if (top.size() > kTopPeaks) top.pop_back();
  }
  if (left_resources(t)) out.resources.push_back(i);
  out.tallied = i + 1;
}

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

  // The lists as the tests' ends left them (each judged test is tallied there), and the
  // tests not tallied yet.
  Impl::SummaryTally tally = m.tally.tallied <= m.judged ? m.tally : Impl::SummaryTally{};
  for (std::size_t i = tally.tallied; i < m.report.tests.size(); ++i) m.tally_test(tally, i);
  const auto records = [&m](const std::vector<std::size_t>& at) {
    std::vector<const TestRecord*> out;
    out.reserve(at.size());
    for (std::size_t i : at) out.push_back(&m.report.tests[i]);
    return out;
  };
  const std::vector<const TestRecord*> budget_broken = records(tally.budget_broken), warned = records(tally.warned),
                                       leaks = records(tally.leaks), warned_leaks = records(tally.warned_leaks),
                                       suppressed = records(tally.suppressed), resources = records(tally.resources);
  std::vector<const TestRecord*> by_peak;
  for (const auto& [peak, i] : tally.by_peak) by_peak.push_back(&m.report.tests[i]);
  const std::size_t suspects = tally.suspects, expected = tally.expected;

  // Suppressions, as LeakSanitizer prints them: the ones used with their counts, and the
  // unused ones (stale lines of the file).
  std::string suppression_lines;
  if (!m.report.suppressions.empty()) {
    std::string used, unused;
    for (const SuppressionUse& u : m.report.suppressions) {
      if (u.used > 0) {
        used += fmt::format("{}{} ({})", used.empty() ? "" : ", ", u.text, plural(u.used, "test", "tests"));
      } else {
        unused += fmt::format("{}{} (line {})", unused.empty() ? "" : ", ", u.text, u.line);
      }
    }
    suppression_lines += paint(kYellow, kPrefix) +
                         fmt::format("suppressions used ({}): {}\n", m.report.suppressions_file,
                                     used.empty() ? std::string("none") : used);
    if (!unused.empty()) {
      suppression_lines += paint(kYellow, kPrefix) + fmt::format("suppressions unused: {}\n", unused);
    }
  }
  std::string extras;
  if (suspects > 0) extras += fmt::format(", {} suspect", suspects);
  if (expected > 0) extras += fmt::format(", {} leaking as expected", expected);
  if (!suppressed.empty()) extras += fmt::format(", {} suppressed", suppressed.size());

  std::string out;
  const std::size_t n = m.report.tests.size();
  if (budget_broken.empty() && leaks.empty() && warned.empty() && warned_leaks.empty() &&
      resources.empty()) {
    std::string line = fmt::format("{} measured, none over budget, no leaks", plural(n, "test", "tests"));
    if (!extras.empty()) line += " (" + extras.substr(2) + ")";
    if (!by_peak.empty()) {
      line += fmt::format("; highest peak {} ({})", format_bytes(max_peak(*by_peak.front())),
                          printable_name(by_peak.front()->name));
    }
    return paint(kGreen, kPrefix) + line + "\n" + suppression_lines;
  }

  const bool failing = !budget_broken.empty() || !leaks.empty() ||
                       (!resources.empty() && m.config.options.fail_on_leak && !m.config.options.warn_only);
  if (!resources.empty()) {
    extras += fmt::format(", {} leaving descriptors or threads", resources.size());
  }
  std::string head = fmt::format("{} measured: {} over budget, {} leaking{}", plural(n, "test", "tests"),
                                 budget_broken.size() + warned.size(),
                                 leaks.size() + warned_leaks.size(), extras);
  if (!warned.empty() || !warned_leaks.empty()) {
    head += fmt::format(" (not enforced: {})", m.config.options.warn_only
                                                    ? "--memx-warn-only, nothing failed"
                                                    : "warn budgets");
  }
  out += paint(failing ? kRed : kYellow, kPrefix) + head + "\n";
  auto violations_text = [](const TestRecord& t) {
    std::string what;
    for (const ViolationRecord& v : t.violations) {
      if (!what.empty()) what += "; ";
      what += v.message;
    }
    return what.empty() ? std::string("malformed budget") : what;
  };
  for (const TestRecord* t : budget_broken) {
    out += paint(kRed, kPrefix) +
           fmt::format("over budget: {}: {}\n", printable_name(t->name), violations_text(*t));
  }
  for (const TestRecord* t : warned) {
    out += paint(kYellow, kPrefix) + fmt::format("over budget (warn-only, not enforced): {}: {}\n",
                                                 printable_name(t->name), violations_text(*t));
  }
  auto leak_line = [&](const TestRecord* t, const char* what) {
    return paint(kYellow, kPrefix) +
           fmt::format("{}: {}: {} in {:g} block{} per repetition ({} confidence)\n", what,
                       printable_name(t->name),
                       format_bytes(static_cast<std::int64_t>(t->leak.bytes_per_run + 0.5)),
                       t->leak.blocks_per_run, t->leak.blocks_per_run == 1.0 ? "" : "s",
                       to_string(t->leak.confidence));
  };
  for (const TestRecord* t : leaks) out += leak_line(t, "leak");
  for (const TestRecord* t : warned_leaks) out += leak_line(t, "leak (warn-only, not enforced)");
  for (const TestRecord* t : suppressed) {
    out += paint(kYellow, kPrefix) + fmt::format("leak suppressed by {}: {}\n",
                                                 t->leak.suppressed_by, printable_name(t->name));
  }
  for (const TestRecord* t : resources) {
    const ResourceLeakRecord& left = t->resource_leaks;
    const RunRecord& run = left.run > 0 && static_cast<std::size_t>(left.run) <= t->runs.size()
                               ? t->runs[static_cast<std::size_t>(left.run) - 1]
                               : t->runs.back();
    std::string what = resource_leak_lines(left, run, "", 4);
    for (std::size_t nl = what.find('\n'); nl != std::string::npos; nl = what.find('\n', nl)) {
      what.replace(nl, 1, nl == 0 ? "" : "; ");
    }
    out += paint(kYellow, kPrefix) +
           fmt::format("descriptors or threads left: {}: {}{}{}\n", printable_name(t->name),
                       resource_leak_counts(run.fds, run.threads),
                       t->runs.size() > 1 ? fmt::format(" (run {})", left.run) : std::string(),
                       what.empty() ? std::string() : ": " + what);
  }
  out += suppression_lines;
  if (!by_peak.empty()) {
    std::string line = "highest peaks:";
    for (const TestRecord* t : by_peak) line += fmt::format(" {} {},", printable_name(t->name), format_bytes(max_peak(*t)));
    line.pop_back();
    out += paint(kGreen, kPrefix) + line + "\n";
  }
  return out;
}

}  // namespace memx
