// The report model: statuses and the analysis that fills violations and leak verdicts.
#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "memx/report.hpp"
#include "memx/sites.hpp"

namespace memx {

Measurement RunRecord::measurement() const {
  Measurement m;
  m.net_bytes = net_bytes;
  m.net_blocks = net_blocks;
  m.peak_bytes = peak_bytes;
  m.allocs = allocs;
  m.rss_peak_bytes = rss_peak_bytes;
  return m;
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

void analyze_report(Report& report) {
  // The handoff rule needs at least 3 iteration totals; without them every test is judged
  // alone, and the whole-run series (a copy of every name and run) is not built at all.
  const bool whole_run = report.iteration_end_live_bytes.size() >= 3;
  std::vector<TestSeries> series;
  if (whole_run) series.reserve(report.tests.size());
  std::vector<RunNet> nets;  // reused for tests judged alone
  if (!report.measured) {
    // Nothing was measured: no budget is checked (zeros would pass it) and no verdict given.
    for (TestRecord& t : report.tests) {
      t.violations.clear();
      t.leak = LeakAssessment{};
      t.leak.reason = "not measured";
    }
    return;
  }
  for (TestRecord& t : report.tests) {
    t.violations.clear();
    if (t.budget && !t.runs.empty()) {
      // Each key is checked against the worst run for that key.
      Measurement worst = t.runs.front().measurement();
      for (const RunRecord& r : t.runs) {
        worst.net_bytes = std::max(worst.net_bytes, r.net_bytes);
        worst.net_blocks = std::max(worst.net_blocks, r.net_blocks);
        worst.peak_bytes = std::max(worst.peak_bytes, r.peak_bytes);
        worst.allocs = std::max(worst.allocs, r.allocs);
        worst.rss_peak_bytes = std::max(worst.rss_peak_bytes, r.rss_peak_bytes);
      }
      for (const Violation& v : check_budget(*t.budget, worst)) {
        t.violations.push_back(ViolationRecord{v.key, v.measured, v.allowed, describe(v)});
      }
    }
    if (!whole_run) {
      nets.clear();
      for (const RunRecord& r : t.runs) nets.push_back(RunNet{r.net_bytes, r.net_blocks});
      t.leak = assess_leak(nets);
      refine_leak_by_sites(t, report.stacks);
      continue;
    }
    TestSeries s;
    s.name = t.name;
    for (const RunRecord& r : t.runs) s.runs.push_back(RunNet{r.net_bytes, r.net_blocks});
    series.push_back(std::move(s));
  }
  if (!whole_run) return;
  std::vector<LeakAssessment> leaks = analyze_leaks(series, report.iteration_end_live_bytes);
  for (std::size_t i = 0; i < leaks.size(); ++i) {
    report.tests[i].leak = std::move(leaks[i]);
    refine_leak_by_sites(report.tests[i], report.stacks);
  }
}

}  // namespace memx
