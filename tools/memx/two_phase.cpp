// memx CLI: the two-phase check's rules: who reruns, how to select them, merging the sites.
#include "two_phase.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "memx/sites.hpp"

namespace memx::cli {

std::vector<std::string> culprits(const Report& report) {
  std::vector<std::string> out;
  for (const TestRecord& t : report.tests) {
    if (t.leak.verdict == Verdict::leak || !t.violations.empty()) out.push_back(t.name);
  }
  return out;
}

std::string gtest_filter(const std::vector<std::string>& names) {
  std::string filter = "--gtest_filter=";
  for (std::size_t i = 0; i < names.size(); ++i) filter += (i == 0 ? "" : ":") + names[i];
  return filter;
}

std::string catch2_spec(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '\\' || c == ',' || c == '[' || c == ']' || c == '~' || c == '"' || c == '*') out += '\\';
    out += c;
  }
  return out;
}

std::string catch2_test_case(const std::string& name, const std::vector<std::string>& test_cases) {
  std::string best;
  for (const std::string& tc : test_cases) {
    if (tc.size() <= best.size() || name.compare(0, tc.size(), tc) != 0) continue;
    const std::string rest = name.substr(tc.size());
    if (rest.empty() || rest.rfind(" / ", 0) == 0 || rest.rfind(" #", 0) == 0) best = tc;
  }
  return best;
}

std::vector<std::string> merge_sites(Report& into, const Report& rerun,
                                     const std::vector<std::string>& names) {
  std::vector<std::string> missing;
  into.stacks = rerun.stacks;
  // Only the tests the rerun ran in stack mode have sites; the others' were not recorded.
  for (TestRecord& t : into.tests) t.sites_recorded = false;
  for (const std::string& name : names) {
    auto from = std::find_if(rerun.tests.begin(), rerun.tests.end(),
                             [&](const TestRecord& t) { return t.name == name; });
    auto to = std::find_if(into.tests.begin(), into.tests.end(),
                           [&](const TestRecord& t) { return t.name == name; });
    if (to == into.tests.end()) continue;
    if (from == rerun.tests.end()) {
      missing.push_back(name);
      continue;
    }
    to->sites = from->sites;
    to->peak_sites = from->peak_sites;
    to->sites_recorded = true;
    // Fewer repetitions than the counting run (three): the sites say so.
    to->site_runs = from->runs.size() < to->runs.size() ? static_cast<std::uint16_t>(from->runs.size()) : 0;
    // The rerun ran the culprits alone: what it says of a handoff to a later test, which did
    // not run, is not evidence. Only a sharper reason for the same verdict is taken.
    TestRecord probe = *to;
    refine_leak_by_sites(probe, rerun.stacks);
    if (probe.leak.verdict == to->leak.verdict) to->leak = probe.leak;
  }
  return missing;
}

}  // namespace memx::cli
