// Comparing two reports test by test.
#include "memx/diff.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include "memx/identity.hpp"

namespace memx {

namespace {

// The figures of runs [first, last): each the highest of them.
TestFigures figures_over(const RunRecord* first, const RunRecord* last) {
  TestFigures f;
  f.runs = static_cast<std::size_t>(last - first);
  if (first == last) return f;
  f.peak_bytes = first->peak_bytes;
  f.net_bytes = first->net_bytes;
  f.net_blocks = first->net_blocks;
  f.allocs = first->allocs;
  f.rss_peak_bytes = first->rss_peak_bytes;
  for (const RunRecord* r = first; r != last; ++r) {
    f.peak_bytes = std::max(f.peak_bytes, r->peak_bytes);
    f.net_bytes = std::max(f.net_bytes, r->net_bytes);
    f.net_blocks = std::max(f.net_blocks, r->net_blocks);
    f.allocs = std::max(f.allocs, r->allocs);
    f.rss_peak_bytes = std::max(f.rss_peak_bytes, r->rss_peak_bytes);
  }
  return f;
}

}  // namespace

TestFigures figures_of(const TestRecord& test) {
  return figures_over(test.runs.data(), test.runs.data() + test.runs.size());
}

TestFigures compared_figures(const TestRecord& test) {
  if (test.runs.size() < 2) return figures_of(test);
  TestFigures f = figures_over(test.runs.data() + 1, test.runs.data() + test.runs.size());
  f.runs = test.runs.size();
  return f;
}

std::string TestDiff::label() const { return qualified_name(binary, std::string(name)); }

std::optional<TestFigures> TestDiff::base_figures() const {
  return base ? std::optional<TestFigures>(compared_figures(*base)) : std::nullopt;
}

std::optional<TestFigures> TestDiff::now_figures() const {
  return now ? std::optional<TestFigures>(compared_figures(*now)) : std::nullopt;
}

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
  const TestFigures a = compared_figures(*base);
  const TestFigures b = compared_figures(*now);
  return a.peak_bytes != b.peak_bytes || a.net_bytes != b.net_bytes ||
         a.net_blocks != b.net_blocks || a.allocs != b.allocs || a.runs != b.runs ||
         base->status != now->status || base->leak.verdict != now->leak.verdict;
}

std::vector<TestDiff> diff_reports(const Report& base, const Report& now,
                                   std::string_view root) {
  // Each test's binary identity, computed once per distinct binary.
  BinaryIdentities identity(root);
  auto identities = [&](const Report& report, std::vector<const std::string*>& out) {
    std::vector<const std::string*> distinct;
    out.reserve(report.tests.size());
    for (const TestRecord& t : report.tests) {
      out.push_back(&identity.of(report, t));
      if (std::find(distinct.begin(), distinct.end(), out.back()) == distinct.end()) distinct.push_back(out.back());
    }
    return distinct.size();
  };
  std::vector<const std::string*> base_ids, now_ids;
  const std::size_t base_binaries = identities(base, base_ids);
  const std::size_t now_binaries = identities(now, now_ids);
  // One binary on each side: matched by name alone, shown without a binary.
  const bool by_name = base_binaries <= 1 && now_binaries <= 1;
  static const std::string kNone;
  std::vector<std::string> base_keys, now_keys;  // binary '\0' name, when not by name
  if (!by_name) {
    base_keys.reserve(base.tests.size());
    for (std::size_t i = 0; i < base.tests.size(); ++i) base_keys.push_back(*base_ids[i] + '\0' + base.tests[i].name);
    now_keys.reserve(now.tests.size());
    for (std::size_t j = 0; j < now.tests.size(); ++j) now_keys.push_back(*now_ids[j] + '\0' + now.tests[j].name);
  }
  auto base_key = [&](std::size_t i) -> std::string_view {
    return by_name ? std::string_view(base.tests[i].name) : std::string_view(base_keys[i]);
  };
  auto now_key = [&](std::size_t j) -> std::string_view {
    return by_name ? std::string_view(now.tests[j].name) : std::string_view(now_keys[j]);
  };

  // key -> the first unmatched index in base; later ones with the same key (a merged
  // report's --conflicts=all) follow in `next`, consumed in order.
  constexpr std::size_t kEnd = static_cast<std::size_t>(-1);
  std::unordered_map<std::string_view, std::size_t> in_base;
  in_base.reserve(base.tests.size());
  std::vector<std::size_t> next(base.tests.size(), kEnd);
  {
    std::unordered_map<std::string_view, std::size_t> last;  // key -> its last index so far
    for (std::size_t i = 0; i < base.tests.size(); ++i) {
      const auto [it, inserted] = in_base.emplace(base_key(i), i);
      if (!inserted) {
        auto [l, first_time] = last.emplace(base_key(i), it->second);
        next[l->second] = i;
        l->second = i;
      }
    }
  }
  std::vector<bool> matched(base.tests.size(), false);

  std::vector<TestDiff> out;
  out.reserve(now.tests.size());
  for (std::size_t j = 0; j < now.tests.size(); ++j) {
    const TestRecord& t = now.tests[j];
    TestDiff d;
    d.name = t.name;
    d.binary = by_name ? kNone : *now_ids[j];
    d.now = &t;
    auto it = in_base.find(now_key(j));
    if (it != in_base.end() && it->second != kEnd) {
      const std::size_t i = it->second;
      it->second = next[i];
      matched[i] = true;
      d.base = &base.tests[i];
    }
    out.push_back(std::move(d));
  }
  for (std::size_t i = 0; i < base.tests.size(); ++i) {
    if (matched[i]) continue;
    TestDiff d;
    d.name = base.tests[i].name;
    d.binary = by_name ? kNone : *base_ids[i];
    d.base = &base.tests[i];
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace memx
