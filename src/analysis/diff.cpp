// Comparing two reports test by test.
#include "memx/diff.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "memx/identity.hpp"

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

TestFigures compared_figures(const TestRecord& test) {
  if (test.runs.size() < 2) return figures_of(test);
  TestRecord measured;
  measured.runs.assign(test.runs.begin() + 1, test.runs.end());
  TestFigures f = figures_of(measured);
  f.runs = test.runs.size();
  return f;
}

std::string TestDiff::label() const { return qualified_name(binary, name); }

bool TestDiff::newly_leaks() const {
  return now && now->leak.reported_leak() && (!base || !base->leak.reported_leak());
}

bool TestDiff::leak_fixed() const {
  return base && now && base->leak.reported_leak() && !now->leak.reported_leak();
}

bool TestDiff::newly_over_budget() const {
  return now && gated_violations(*now) && (!base || !gated_violations(*base));
}

bool TestDiff::changed() const {
  if (!base || !now) return false;
  const TestFigures& a = *base_figures;
  const TestFigures& b = *now_figures;
  return a.peak_bytes != b.peak_bytes || a.net_bytes != b.net_bytes ||
         a.net_blocks != b.net_blocks || a.allocs != b.allocs || a.runs != b.runs ||
         base->status != now->status || base->leak.verdict != now->leak.verdict;
}

std::vector<TestDiff> diff_reports(const Report& base, const Report& now,
                                   std::string_view root) {
  std::vector<TestKey> base_keys = test_keys(base, root);
  std::vector<TestKey> now_keys = test_keys(now, root);
  std::vector<std::string> base_binaries, now_binaries, all;
  for (const TestKey& k : base_keys) {
    if (std::find(base_binaries.begin(), base_binaries.end(), k.binary) == base_binaries.end())
      base_binaries.push_back(k.binary);
  }
  for (const TestKey& k : now_keys) {
    if (std::find(now_binaries.begin(), now_binaries.end(), k.binary) == now_binaries.end())
      now_binaries.push_back(k.binary);
  }
  if (base_binaries.size() <= 1 && now_binaries.size() <= 1) {
    // One binary on each side: matched by name alone, shown without a binary.
    for (TestKey& k : base_keys) k.binary.clear();
    for (TestKey& k : now_keys) k.binary.clear();
  }

  // key -> indexes in base, consumed in order.
  std::map<TestKey, std::vector<std::size_t>> in_base;
  for (std::size_t i = 0; i < base.tests.size(); ++i) in_base[base_keys[i]].push_back(i);
  std::map<TestKey, std::size_t> used;  // key -> how many of in_base[key] are matched
  std::vector<bool> matched(base.tests.size(), false);

  std::vector<TestDiff> out;
  out.reserve(now.tests.size());
  for (std::size_t j = 0; j < now.tests.size(); ++j) {
    const TestRecord& t = now.tests[j];
    TestDiff d;
    d.name = t.name;
    d.binary = now_keys[j].binary;
    d.now = t;
    d.now_figures = compared_figures(t);
    auto it = in_base.find(now_keys[j]);
    if (it != in_base.end()) {
      std::size_t& n = used[now_keys[j]];
      if (n < it->second.size()) {
        const std::size_t i = it->second[n++];
        matched[i] = true;
        d.base = base.tests[i];
        d.base_figures = compared_figures(base.tests[i]);
      }
    }
    out.push_back(std::move(d));
  }
  for (std::size_t i = 0; i < base.tests.size(); ++i) {
    if (matched[i]) continue;
    TestDiff d;
    d.name = base.tests[i].name;
    d.binary = base_keys[i].binary;
    d.base = base.tests[i];
    d.base_figures = compared_figures(base.tests[i]);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace memx
