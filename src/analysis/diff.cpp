// Comparing two reports test by test.
#include "memx/diff.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace memx {

TestFigures figures_of(const TestRecord& test) {
  TestFigures f;
  f.runs = test.runs.size();
  if (test.runs.empty()) return f;
  const RunRecord& first = test.runs.front();
  f.peak_bytes = first.peak_bytes;
  f.net_bytes = first.net_bytes;
  f.net_blocks = first.net_blocks;
  f.allocs = first.allocs;
  f.rss_peak_bytes = first.rss_peak_bytes;
  for (const RunRecord& r : test.runs) {
    f.peak_bytes = std::max(f.peak_bytes, r.peak_bytes);
    f.net_bytes = std::max(f.net_bytes, r.net_bytes);
    f.net_blocks = std::max(f.net_blocks, r.net_blocks);
    f.allocs = std::max(f.allocs, r.allocs);
    f.rss_peak_bytes = std::max(f.rss_peak_bytes, r.rss_peak_bytes);
  }
  return f;
}

bool TestDiff::newly_leaks() const {
  return now && now->leak.verdict == Verdict::leak &&
         (!base || base->leak.verdict != Verdict::leak);
}

bool TestDiff::leak_fixed() const {
  return base && now && base->leak.verdict == Verdict::leak &&
         now->leak.verdict != Verdict::leak;
}

bool TestDiff::newly_over_budget() const {
  return now && !now->violations.empty() && (!base || base->violations.empty());
}

bool TestDiff::changed() const {
  if (!base || !now) return false;
  const TestFigures& a = *base_figures;
  const TestFigures& b = *now_figures;
  return a.peak_bytes != b.peak_bytes || a.net_bytes != b.net_bytes ||
         a.net_blocks != b.net_blocks || a.allocs != b.allocs || a.runs != b.runs ||
         base->status != now->status || base->leak.verdict != now->leak.verdict;
}

std::vector<TestDiff> diff_reports(const Report& base, const Report& now) {
  // name -> indexes in base, consumed in order.
  std::map<std::string, std::vector<std::size_t>> in_base;
  for (std::size_t i = 0; i < base.tests.size(); ++i) in_base[base.tests[i].name].push_back(i);
  std::map<std::string, std::size_t> used;  // name -> how many of in_base[name] are matched
  std::vector<bool> matched(base.tests.size(), false);

  std::vector<TestDiff> out;
  out.reserve(now.tests.size());
  for (const TestRecord& t : now.tests) {
    TestDiff d;
    d.name = t.name;
    d.now = t;
    d.now_figures = figures_of(t);
    auto it = in_base.find(t.name);
    if (it != in_base.end()) {
      std::size_t& n = used[t.name];
      if (n < it->second.size()) {
        const std::size_t i = it->second[n++];
        matched[i] = true;
        d.base = base.tests[i];
        d.base_figures = figures_of(base.tests[i]);
      }
    }
    out.push_back(std::move(d));
  }
  for (std::size_t i = 0; i < base.tests.size(); ++i) {
    if (matched[i]) continue;
    TestDiff d;
    d.name = base.tests[i].name;
    d.base = base.tests[i];
    d.base_figures = figures_of(base.tests[i]);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace memx
