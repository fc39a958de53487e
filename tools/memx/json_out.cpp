// memx CLI: the --json outputs of `show` and `diff` (json_out.hpp).
#include "json_out.hpp"

#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace memx::cli {
namespace {

using nlohmann::ordered_json;

ordered_json figures_json(const TestFigures& f) {
  ordered_json j;
  j["runs"] = f.runs;
  j["peak_bytes"] = f.peak_bytes;
  j["net_bytes"] = f.net_bytes;
  j["net_blocks"] = f.net_blocks;
  j["allocs"] = f.allocs;
  j["rss_peak_bytes"] = f.rss_peak_bytes;
  return j;
}

ordered_json leak_json(const LeakAssessment& l) {
  ordered_json j;
  j["verdict"] = to_string(l.verdict);
  j["confidence"] = to_string(l.confidence);
  j["bytes_per_run"] = l.bytes_per_run;
  j["blocks_per_run"] = l.blocks_per_run;
  return j;
}

ordered_json over_budget_json(const TestRecord& t) {
  ordered_json keys = ordered_json::array();
  for (const ViolationRecord& v : t.violations) keys.push_back(v.key);
  return keys;
}

// Names may hold any bytes a test framework allows: invalid UTF-8 is replaced, not thrown.
std::string dump(const ordered_json& j) {
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string show_json(const Report& report, const std::vector<const TestRecord*>& tests,
                      const std::vector<std::string>& labels, std::size_t matching) {
  ordered_json j;
  j["format"] = "memx-show";
  j["version"] = kJsonOutputVersion;
  j["complete"] = report.complete;
  j["measured"] = report.measured;
  j["backend"] = report.backend;
  j["repetitions"] = report.repetitions;
  j["tests_in_report"] = report.tests.size();
  j["tests_matching"] = matching;
  ordered_json out = ordered_json::array();
  for (std::size_t i = 0; i < tests.size(); ++i) {
    const TestRecord& t = *tests[i];
    ordered_json tj;
    tj["name"] = labels[i];
    tj["status"] = to_string(t.status);
    tj["figures"] = figures_json(figures_of(t));
    tj["leak"] = leak_json(t.leak);
    tj["over_budget"] = over_budget_json(t);
    tj["file"] = t.file;
    tj["line"] = t.line;
    const ResourceLeakRecord& left = t.resource_leaks;
    if (left.run > 0 && static_cast<std::size_t>(left.run) <= t.runs.size()) {
      // Optional: only a test that left descriptors or threads behind has it.
      const RunRecord& run = t.runs[static_cast<std::size_t>(left.run) - 1];
      ordered_json rj;
      rj["run"] = left.run;
      rj["fds"] = run.fds;
      rj["threads"] = run.threads;
      ordered_json fds = ordered_json::array();
      for (const LeakedDescriptor& d : left.fds) fds.push_back({{"fd", d.fd}, {"target", d.target}});
      rj["named_fds"] = std::move(fds);
      ordered_json threads = ordered_json::array();
      for (const LeakedThread& th : left.threads) threads.push_back({{"tid", th.tid}, {"name", th.name}});
      rj["named_threads"] = std::move(threads);
      tj["resource_leaks"] = std::move(rj);
    }
    out.push_back(std::move(tj));
  }
  j["tests"] = std::move(out);
  return dump(j);
}

std::string diff_json(const std::vector<TestDiff>& diffs, const std::string& base,
                      const std::string& now) {
  ordered_json j;
  j["format"] = "memx-diff";
  j["version"] = kJsonOutputVersion;
  j["base"] = base;
  j["new"] = now;
  ordered_json out = ordered_json::array();
  std::size_t added = 0, removed = 0, changed = 0;
  for (const TestDiff& d : diffs) {
    ordered_json tj;
    tj["name"] = d.label();
    const char* change = d.added() ? "added" : d.removed() ? "removed" : d.changed() ? "changed" : "same";
    added += d.added();
    removed += d.removed();
    changed += !d.added() && !d.removed() && d.changed();
    tj["change"] = change;
    auto side = [](const TestRecord* r, const std::optional<TestFigures>& f) {
      if (!r) return ordered_json(nullptr);
      ordered_json s;
      s["status"] = to_string(r->status);
      s["figures"] = f ? figures_json(*f) : ordered_json(nullptr);
      s["leak"] = leak_json(r->leak);
      s["over_budget"] = over_budget_json(*r);
      return s;
    };
    tj["base"] = side(d.base, d.base_figures());
    tj["new"] = side(d.now, d.now_figures());
    tj["newly_leaks"] = d.newly_leaks();
    tj["leak_fixed"] = d.leak_fixed();
    tj["newly_over_budget"] = d.newly_over_budget();
    out.push_back(std::move(tj));
  }
  ordered_json totals;
  totals["tests"] = diffs.size();
  totals["added"] = added;
  totals["removed"] = removed;
  totals["changed"] = changed;
  j["totals"] = std::move(totals);
  j["tests"] = std::move(out);
  return dump(j);
}

std::string gate_json(const std::vector<TestDiff>& diffs, const std::vector<Regression>& regressions,
                      const GateJsonFacts& facts) {
  ordered_json j;
  j["format"] = "memx-gate";
  j["version"] = kJsonOutputVersion;
  j["passed"] = facts.passed;
  j["baseline"] = facts.baseline;
  j["new"] = facts.reports;
  j["tolerances"] = facts.tolerances;
  ordered_json tests = ordered_json::array();
  std::size_t gated = 0, allowed = 0, tests_regressed = 0;
  const std::vector<TestRegressions> changed = group_by_test(regressions);
  // Each test's regressions and line by its name, found once (tens of thousands of
  // regressions against as many tests: a search of the lists for each test takes minutes).
  std::unordered_map<std::string_view, std::vector<const Regression*>> by_test;
  for (const Regression& r : regressions) by_test[r.test].push_back(&r);
  std::unordered_map<std::string_view, std::vector<const TestRegressions*>> lines;
  for (const TestRegressions& c : changed) lines[c.test].push_back(&c);
  for (const TestDiff& d : diffs) {
    const std::string label = d.label();
    const auto of_test = by_test.find(label);
    if (of_test == by_test.end()) continue;
    ordered_json found = ordered_json::array();
    for (const Regression* rp : of_test->second) {
      const Regression& r = *rp;
      ordered_json rj;
      rj["what"] = r.what;
      rj["base"] = r.base;
      rj["new"] = r.now;
      rj["change"] = r.change;
      rj["allowed"] = r.allowed;
      rj["message"] = r.message;
      (r.allowed ? allowed : gated) += 1;
      found.push_back(std::move(rj));
    }
    ordered_json tj;
    tj["name"] = label;
    tj["base"] = d.base ? figures_json(*d.base_figures()) : ordered_json(nullptr);
    tj["new"] = d.now ? figures_json(*d.now_figures()) : ordered_json(nullptr);
    if (const auto line = lines.find(label); line != lines.end()) {
      for (const TestRegressions* c : line->second) {
        tj["message"] = c->line;
        if (!c->allowed) ++tests_regressed;
      }
    }
    tj["regressions"] = std::move(found);
    tests.push_back(std::move(tj));
  }
  j["tests"] = std::move(tests);
  j["missing"] = facts.missing;
  j["missing_allowed"] = facts.missing_allowed;
  j["incomplete"] = facts.incomplete;
  j["fixed"] = facts.fixed;
  ordered_json totals;
  totals["tests"] = diffs.size() + facts.unlisted;
  totals["regressions"] = gated;
  totals["tests_regressed"] = tests_regressed;
  totals["allowed"] = allowed;
  totals["missing"] = facts.missing.size();
  j["totals"] = std::move(totals);
  return dump(j);
}

}  // namespace memx::cli
