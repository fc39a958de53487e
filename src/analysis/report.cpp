// The report model: statuses and the analysis that fills violations and leak verdicts.
#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "memx/report.hpp"
#include "memx/sites.hpp"
#include "memx/suppressions.hpp"
#include "memx/units.hpp"

namespace memx {

Measurement RunRecord::measurement() const {
  Measurement m;
  m.net_bytes = net_bytes;
  m.net_blocks = net_blocks;
  m.peak_bytes = peak_bytes;
  m.allocs = allocs;
  m.rss_peak_bytes = rss_peak_bytes;
  m.fds = fds;
  m.threads = threads;
  return m;
}

std::string resource_leak_counts(std::int64_t fds, std::int64_t threads) {
  std::string out;
  if (fds > 0) out = fmt::format("{} descriptor{}", fds, fds == 1 ? "" : "s");
  if (threads > 0) {
    if (!out.empty()) out += " and ";
    out += fmt::format("{} thread{}", threads, threads == 1 ? "" : "s");
  }
  return out;
}

std::string resource_leak_lines(const ResourceLeakRecord& leaks, const RunRecord& run,
                                std::string_view indent, std::size_t max) {
  std::string out;
  std::size_t shown = 0;
  for (const LeakedDescriptor& d : leaks.fds) {
    if (shown == max) break;
    out += fmt::format("\n{}descriptor {}: {}", indent, d.fd, printable_name(d.target));
    ++shown;
  }
  for (const LeakedThread& t : leaks.threads) {
    if (shown == max) break;
    out += fmt::format("\n{}thread {} \"{}\"", indent, t.tid, printable_name(t.name));
    ++shown;
  }
  const std::int64_t total = std::max<std::int64_t>(run.fds, 0) + std::max<std::int64_t>(run.threads, 0);
  if (total > static_cast<std::int64_t>(shown)) {
    out += fmt::format("\n{}and {} more", indent, total - static_cast<std::int64_t>(shown));
  }
  return out;
}

const char* to_string(TestStatus s) {
  switch (s) {
    case TestStatus::passed:
      return "passed";
    case TestStatus::failed:
      return "failed";
    case TestStatus::skipped:
      return "skipped";
  }
  return "passed";
}

bool from_string(std::string_view text, TestStatus& out) {
  for (TestStatus s : {TestStatus::passed, TestStatus::failed, TestStatus::skipped}) {
    if (text == to_string(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

std::optional<Violation> judge_expected_leak(TestRecord& test) {
  if (!test.budget || !test.budget->leak || test.runs.size() < 2) return std::nullopt;
  const std::int64_t expected = *test.budget->leak;
  LeakAssessment& a = test.leak;
  if (a.verdict == Verdict::expected) a.verdict = Verdict::leak;  // judged again
  // The blocks it leaks per repetition: the same number after every warm-up, or what the
  // verdict says (a leak judged on all runs but one caught another thread in flight).
  bool same = true;
  for (std::size_t k = 2; k < test.runs.size(); ++k) {
    same = same && test.runs[k].net_blocks == test.runs[1].net_blocks;
  }
  const bool grows = a.verdict == Verdict::leak || a.verdict == Verdict::suspect;
  const std::int64_t leaked =
      same ? std::max<std::int64_t>(0, test.runs[1].net_blocks)
           : (grows ? std::max<std::int64_t>(0, std::llround(a.blocks_per_run)) : 0);
  const bool match = leaked == expected &&
                     (same || a.verdict == Verdict::leak || (expected == 0 && !grows));
  if (match) {
    if (expected > 0 && a.verdict != Verdict::unknown) {
      a.verdict = Verdict::expected;
      a.suppressed_by.clear();
      if (a.reason.find("as its budget expects") == std::string::npos) {
        a.reason += fmt::format("; as its budget expects (leak={})", expected);
      }
    }
    return std::nullopt;
  }
  return Violation{"leak", leaked, expected};
}

std::optional<std::size_t> suppress_leak(TestRecord& test, const std::vector<Suppression>& list) {
  if (test.leak.verdict != Verdict::leak || list.empty()) return std::nullopt;
  const std::optional<std::size_t> i = find_suppression(list, test);
  if (i) test.leak.suppressed_by = list[*i].text();
  return i;
}

std::vector<Suppression> suppressions_of(const Report& report) {
  std::vector<Suppression> out;
  for (const SuppressionUse& u : report.suppressions) {
    SuppressionsParse p = parse_suppressions(u.text, "report");
    Suppression s;
    s.kind = Suppression::Kind::leak;
    s.pattern = "^$";  // matches nothing: keeps the indices of report.suppressions
    if (p.list && p.list->size() == 1) s = p.list->front();
    s.line = u.line;
    out.push_back(std::move(s));
  }
  return out;
}

bool gated_violations(const TestRecord& test) {
  return !test.violations.empty() && !(test.budget && test.budget->warn.value_or(false));
}

namespace {

/// The controls over a test whose violations and verdict are freshly judged.
void apply_controls(Report& report, TestRecord& t, const std::vector<Suppression>& list) {
  if (std::optional<Violation> v = judge_expected_leak(t)) {
    t.violations.push_back(ViolationRecord{v->key, v->measured, v->allowed, describe(*v)});
  }
  const bool warn = report.warn_only || (t.budget && t.budget->warn.value_or(false));
  for (ViolationRecord& v : t.violations) v.enforced = !warn;
  if (const std::optional<std::size_t> i = suppress_leak(t, list)) ++report.suppressions[*i].used;
}

/// Its violations (each budget key against the worst run for that key).
void check_budget_of(TestRecord& t) {
  t.violations.clear();
  if (!t.budget || t.runs.empty()) return;
  Measurement worst = t.runs.front().measurement();
  for (const RunRecord& r : t.runs) {
    worst.net_bytes = std::max(worst.net_bytes, r.net_bytes);
    worst.net_blocks = std::max(worst.net_blocks, r.net_blocks);
    worst.peak_bytes = std::max(worst.peak_bytes, r.peak_bytes);
    worst.allocs = std::max(worst.allocs, r.allocs);
    worst.rss_peak_bytes = std::max(worst.rss_peak_bytes, r.rss_peak_bytes);
    worst.fds = std::max(worst.fds, r.fds);
    worst.threads = std::max(worst.threads, r.threads);
  }
  for (const Violation& v : check_budget(*t.budget, worst)) {
    t.violations.push_back(ViolationRecord{v.key, v.measured, v.allowed, describe(v)});
  }
}

/// Tests [from, end) judged alone (no whole-run series): violations, leak verdict and
/// controls, each test's use of `list` (the report's suppressions parsed) added to the
/// counts.
void judge_alone_from(Report& report, std::size_t from, const std::vector<Suppression>& list) {
  // The runs' net figures: on the stack for a test of up to kOnStack runs (the plugins
  // judge each test as it ends, most with one run: no allocation here).
  constexpr std::size_t kOnStack = 8;
  RunNet on_stack[kOnStack];
  std::vector<RunNet> more;
  for (std::size_t i = from; i < report.tests.size(); ++i) {
    TestRecord& t = report.tests[i];
    check_budget_of(t);
    RunNet* nets = on_stack;
    if (t.runs.size() > kOnStack) {
      more.resize(t.runs.size());
      nets = more.data();
    }
    for (std::size_t k = 0; k < t.runs.size(); ++k) nets[k] = RunNet{t.runs[k].net_bytes, t.runs[k].net_blocks};
    // Into the record's own texts: a session makes a large run's records ahead with room
    // for the reason (its first touch is then not on the test thread).
    assess_leak_into(nets, t.runs.size(), t.leak);
    refine_leak_by_sites(t, report.stacks);
    apply_controls(report, t, list);
  }
}

}  // namespace

void analyze_report_from(Report& report, std::size_t judged, const std::vector<Suppression>& suppressions) {
  const std::size_t from = judged_again_from(report, judged);
  if (from == 0) {
    analyze_report(report);
    return;
  }
  judge_alone_from(report, from, suppressions);
}

void analyze_report(Report& report) {
  // The handoff rule needs at least 3 iteration totals; without them every test is judged
  // alone, and the whole-run series (a copy of every name and run) is not built at all.
  const bool whole_run = report.iteration_end_live_bytes.size() >= 3;
  if (!report.measured) {
    // Nothing was measured: no budget is checked (zeros would pass it) and no verdict given.
    for (TestRecord& t : report.tests) {
      t.violations.clear();
      t.leak = LeakAssessment{};
      t.leak.reason = "not measured";
    }
    return;
  }
  const std::vector<Suppression> list = suppressions_of(report);
  for (SuppressionUse& u : report.suppressions) u.used = 0;
  if (!whole_run) {
    judge_alone_from(report, 0, list);
    return;
  }
  std::vector<TestSeries> series;
  series.reserve(report.tests.size());
  for (TestRecord& t : report.tests) {
    check_budget_of(t);
    TestSeries s;
    s.name = t.name;
    for (const RunRecord& r : t.runs) s.runs.push_back(RunNet{r.net_bytes, r.net_blocks});
    series.push_back(std::move(s));
  }
  std::vector<LeakAssessment> leaks = analyze_leaks(series, report.iteration_end_live_bytes);
  for (std::size_t i = 0; i < leaks.size(); ++i) {
    report.tests[i].leak = std::move(leaks[i]);
    refine_leak_by_sites(report.tests[i], report.stacks);
  }
  for (TestRecord& t : report.tests) apply_controls(report, t, list);
}

}  // namespace memx
