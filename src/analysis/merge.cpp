// Merging the reports of several processes into one.
#include "memx/merge.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)

#include "memx/identity.hpp"
#include "memx/units.hpp"

namespace memx {
namespace {

// Appends `value` to the distinct values seen so far.
void note_value(std::vector<std::string>& seen, const std::string& value) {
  if (std::find(seen.begin(), seen.end(), value) == seen.end()) seen.push_back(value);
}

std::string joined(const std::vector<std::string>& values) {
  return fmt::format("{}", fmt::join(values, ", "));
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return out;
}

// The order key of a test: known locations by (file, line); unknown ones first, so that
// they keep their place relative to the tests of their own report.
std::tuple<bool, const std::string&, int> location_key(const TestRecord& t) {
  return {!t.file.empty(), t.file, t.line};
}

// Each test's newest run only (merge_reports): a report of an earlier run left in the same
// directory loses the tests a newer run also has, and takes no part at all when it loses
// every one. Run identifiers compare as text (they start with the time); "" is oldest.
std::vector<SourcedReport> drop_stale_runs(std::vector<SourcedReport>&& inputs,
                                           std::string_view root, std::vector<MergeIssue>& issues) {
  // A test is the same test of an earlier run only when its binary is the very same path:
  // two binaries that merely share an identity (a/print_test, b/print_test) are a conflict
  // for the merge to name, not a stale run.
  using RunKey = std::pair<TestKey, std::string>;  // (identity and name, binary as run)
  std::vector<std::vector<RunKey>> keys;
  std::map<RunKey, const std::string*> newest;
  for (const SourcedReport& in : inputs) {
    const std::vector<TestKey> ids = test_keys(in.report, root);
    keys.emplace_back();
    for (std::size_t t = 0; t < ids.size(); ++t) {
      keys.back().emplace_back(ids[t], binary_of(in.report, in.report.tests[t]));
    }
    for (const RunKey& k : keys.back()) {
      auto [it, added] = newest.emplace(k, &in.report.run_id);
      if (!added && in.report.run_id > *it->second) it->second = &in.report.run_id;
    }
  }
  // First what is stale in each report (`newest` points into the reports' run ids), then
  // the reports moved out, without what is stale.
  std::vector<std::vector<std::size_t>> stale_of(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const SourcedReport& in = inputs[i];
    std::vector<std::size_t>& stale = stale_of[i];
    for (std::size_t t = 0; t < keys[i].size(); ++t) {
      if (*newest[keys[i][t]] != in.report.run_id) stale.push_back(t);
    }
    if (stale.empty()) continue;
    // The newer runs, by the reports that hold them, for the message.
    std::vector<std::string> names, newer_sources;
    for (const std::size_t t : stale) {
      if (names.size() < 10) names.push_back(printable_name(in.report.tests[t].name));
      const std::string& id = *newest[keys[i][t]];
      for (const SourcedReport& other : inputs) {
        if (other.report.run_id == id) {
          note_value(newer_sources, other.source);
          break;
        }
      }
    }
    std::string listed = joined(names);
    if (stale.size() > names.size()) listed += fmt::format(" and {} more", stale.size() - names.size());
    const bool whole = stale.size() == in.report.tests.size();
    const std::string run =
        in.report.run_id.empty() ? std::string("no run identifier") : "run " + in.report.run_id;
    std::vector<std::string> sources{in.source};
    sources.insert(sources.end(), newer_sources.begin(), newer_sources.end());
    const std::string count =
        whole && stale.size() == 1
            ? std::string("its only test")
            : fmt::format("{}{} test{}", whole ? "all its " : "", stale.size(), stale.size() == 1 ? "" : "s");
    issues.push_back({MergeIssue::Kind::stale, "", sources, "",
                      fmt::format("{} ({}) is an earlier run: {} dropped ({}), newer in {}",
                                  in.source, run, count, listed, joined(newer_sources))});
  }
  std::vector<SourcedReport> out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<std::size_t>& stale = stale_of[i];
    if (!stale.empty() && stale.size() == inputs[i].report.tests.size()) continue;  // all stale
    SourcedReport kept = std::move(inputs[i]);
    for (auto t = stale.rbegin(); t != stale.rend(); ++t) {
      kept.report.tests.erase(kept.report.tests.begin() + static_cast<std::ptrdiff_t>(*t));
    }
    out.push_back(std::move(kept));
  }
  return out;
}

}  // namespace

std::size_t MergeResult::count(MergeIssue::Kind kind) const {
  return static_cast<std::size_t>(std::count_if(
      issues.begin(), issues.end(), [kind](const MergeIssue& i) { return i.kind == kind; }));
}

const char* to_string(MergeIssue::Kind kind) {
  switch (kind) {
    case MergeIssue::Kind::duplicate:
      return "duplicate";
    case MergeIssue::Kind::conflict:
      return "conflict";
    case MergeIssue::Kind::incomplete:
      return "incomplete";
    case MergeIssue::Kind::mismatch:
      return "mismatch";
    case MergeIssue::Kind::stale:
      return "stale";
  }
  return "duplicate";
}

bool same_heap_figures(const TestRecord& a, const TestRecord& b) {
  if (a.name != b.name || a.file != b.file || a.line != b.line || a.status != b.status ||
      a.runs.size() != b.runs.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    const RunRecord& x = a.runs[i];
    const RunRecord& y = b.runs[i];
    if (x.net_bytes != y.net_bytes || x.net_blocks != y.net_blocks ||
        x.peak_bytes != y.peak_bytes || x.allocs != y.allocs) {
      return false;
    }
  }
  return true;
}

MergeResult merge_reports(const std::vector<SourcedReport>& inputs, ConflictPolicy policy,
                          std::string_view root) {
  return merge_reports(std::vector<SourcedReport>(inputs), policy, root);
}

MergeResult merge_reports(std::vector<SourcedReport>&& all_inputs, ConflictPolicy policy,
                          std::string_view root) {
  MergeResult out;
  // The records are moved from the inputs into the merged report, never copied: a report of
  // a million tests is in memory once.
  std::vector<SourcedReport> inputs =
      all_inputs.size() > 1 ? drop_stale_runs(std::move(all_inputs), root, out.issues) : std::move(all_inputs);
  for (const SourcedReport& in : inputs) {
    if (!in.report.complete) {
      out.issues.push_back({MergeIssue::Kind::incomplete, "", {in.source}, "",
                            fmt::format("{} is incomplete: its process did not finish (crashed, "
                                        "killed or still running): only its finished tests are "
                                        "in it",
                                        in.source)});
    }
  }
  if (inputs.empty()) return out;
  if (inputs.size() == 1) {
    out.report = std::move(inputs.front().report);
    return out;
  }

  Report& merged = out.report;
  std::vector<std::string> frameworks, binaries, backends, tools, measured;
  std::vector<std::string> repetition_values;
  merged.complete = true;
  merged.pid = 0;
  merged.repetitions = 0;
  bool same_iterations = true;
  for (const SourcedReport& in : inputs) {
    const Report& r = in.report;
    note_value(frameworks, r.framework);
    note_value(binaries, r.binary);
    note_value(backends, r.backend);
    if (!r.tool.empty()) note_value(tools, r.tool);
    note_value(measured, r.measured ? "measured" : "not measured");
    merged.measured = merged.measured && r.measured;  // one unmeasured input: not measured
    note_value(repetition_values, std::to_string(r.repetitions));
    merged.complete = merged.complete && r.complete;
    merged.repetitions = std::max(merged.repetitions, r.repetitions);
    // Stack mode: kept when any input had it (the tests of the others have no sites); its
    // sites are final only when every such input's are, and drops add up.
    if (r.stacks.depth > 0) {
      if (merged.stacks.depth == 0) {
        merged.stacks = r.stacks;
      } else {
        merged.stacks.depth = std::max(merged.stacks.depth, r.stacks.depth);
        merged.stacks.top = std::max(merged.stacks.top, r.stacks.top);
        merged.stacks.dropped += r.stacks.dropped;
        merged.stacks.final = merged.stacks.final && r.stacks.final;
        if (merged.stacks.unwinder != r.stacks.unwinder) merged.stacks.unwinder += ", " + r.stacks.unwinder;
      }
    }
    if (merged.started_at.empty() || (!r.started_at.empty() && r.started_at < merged.started_at)) {
      merged.started_at = r.started_at;
    }
    if (r.finished_at > merged.finished_at) merged.finished_at = r.finished_at;
    if (r.iteration_end_live_bytes.size() != inputs.front().report.iteration_end_live_bytes.size()) {
      same_iterations = false;
    }
  }
  if (!merged.complete) merged.finished_at.clear();
  // The controls: warn-only when every input was; each suppression once, its uses summed.
  merged.warn_only = true;
  std::vector<std::string> suppression_files;
  for (const SourcedReport& in : inputs) {
    merged.warn_only = merged.warn_only && in.report.warn_only;
    if (!in.report.suppressions_file.empty()) note_value(suppression_files, in.report.suppressions_file);
    for (const SuppressionUse& u : in.report.suppressions) {
      auto same = std::find_if(merged.suppressions.begin(), merged.suppressions.end(),
                               [&](const SuppressionUse& m) { return m.text == u.text; });
      if (same == merged.suppressions.end()) {
        merged.suppressions.push_back(u);
      } else {
        same->used += u.used;
      }
    }
  }
  merged.suppressions_file = joined(suppression_files);
  merged.framework = joined(frameworks);
  merged.binary = joined(binaries);
  merged.backend = joined(backends);
  merged.tool = joined(tools);
  auto mismatch = [&](const char* what, const std::vector<std::string>& values) {
    if (values.size() > 1) {
      std::vector<std::string> sources;
      for (const SourcedReport& in : inputs) sources.push_back(in.source);
      out.issues.push_back({MergeIssue::Kind::mismatch, "", sources, "",
                            fmt::format("the reports disagree on {}: {}", what, joined(values))});
    }
  };
  mismatch("the framework", frameworks);
  mismatch("the allocator backend", backends);
  // The merged report is then not measured: none of its figures is judged (the measured
  // inputs can be merged on their own).
  mismatch("whether memx measured anything", measured);
  mismatch("the number of repetitions", repetition_values);
  if (same_iterations) {
    merged.iteration_end_live_bytes.assign(inputs.front().report.iteration_end_live_bytes.size(), 0);
    for (const SourcedReport& in : inputs) {
      for (std::size_t k = 0; k < in.report.iteration_end_live_bytes.size(); ++k) {
        merged.iteration_end_live_bytes[k] =
            saturating_add(merged.iteration_end_live_bytes[k], in.report.iteration_end_live_bytes[k]);
      }
    }
  } else {
    std::vector<std::string> sources;
    for (const SourcedReport& in : inputs) sources.push_back(in.source);
    out.issues.push_back({MergeIssue::Kind::mismatch, "", sources, "",
                          "the reports have different numbers of iteration totals: the merged "
                          "report has none (each test keeps its own process's leak verdict)"});
  }

  // A leak watch is one process's samples over time (memx::write_watch_report): the merged
  // report keeps the only one; several cannot be added up, and are left in their own files.
  std::vector<std::string> watch_sources;
  for (SourcedReport& in : inputs) {
    if (!in.report.watch) continue;
    watch_sources.push_back(in.source);
    if (watch_sources.size() == 1) merged.watch = std::move(in.report.watch);
  }
  if (watch_sources.size() > 1) {
    merged.watch.reset();
    out.issues.push_back({MergeIssue::Kind::mismatch, "", watch_sources, "",
                          fmt::format("{} reports hold a leak watch (one process's samples "
                                      "each, which do not add up): the merged report has none; "
                                      "read each with memx show",
                                      watch_sources.size())});
  }

  const bool any_stacks = std::any_of(inputs.begin(), inputs.end(),
                                      [](const SourcedReport& in) { return in.report.stacks.depth > 0; });
  // k-way merge of the inputs' test sequences by source location.
  std::vector<std::size_t> next(inputs.size(), 0);
  // (binary identity, name) -> (input, index in merged)
  std::map<TestKey, std::pair<std::size_t, std::size_t>> first_seen;
  std::vector<std::vector<TestKey>> keys;
  std::vector<std::string> identities;
  for (const SourcedReport& in : inputs) {
    keys.push_back(test_keys(in.report, root));
    for (const TestKey& k : keys.back()) note_value(identities, k.binary);
  }
  // Names are shown with their binary where the tests come from several.
  auto label = [&](const TestKey& k) {
    return identities.size() > 1 ? qualified_name(k.binary, k.name) : k.name;
  };
  for (;;) {
    std::size_t pick = inputs.size();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (next[i] >= inputs[i].report.tests.size()) continue;
      if (pick == inputs.size() || location_key(inputs[i].report.tests[next[i]]) <
                                       location_key(inputs[pick].report.tests[next[pick]])) {
        pick = i;
      }
    }
    if (pick == inputs.size()) break;
    const std::size_t at = next[pick]++;
    TestRecord& t = inputs[pick].report.tests[at];
    const TestKey& key = keys[pick][at];
    auto seen = first_seen.find(key);
    if (seen == first_seen.end()) {
      first_seen.emplace(key, std::make_pair(pick, merged.tests.size()));
      std::string binary = binary_of(inputs[pick].report, t);
      // A test of a report without stack mode has no sites because none were recorded.
      if (any_stacks && inputs[pick].report.stacks.depth <= 0) t.sites_recorded = false;
      merged.tests.push_back(std::move(t));  // each record is picked once
      merged.tests.back().binary = std::move(binary);
      continue;
    }
    const std::string& first_source = inputs[seen->second.first].source;
    const TestRecord& kept = merged.tests[seen->second.second];
    const std::string& this_binary = binary_of(inputs[pick].report, t);
    if (same_heap_figures(kept, t)) {
      out.issues.push_back(
          {MergeIssue::Kind::duplicate, label(key), {first_source, inputs[pick].source}, "",
           fmt::format("{} is in {} and {} with the same figures: kept once", printable_name(label(key)),
                       first_source, inputs[pick].source)});
      continue;
    }
    std::string what;
    if (kept.status != t.status) {
      what = fmt::format("status {} vs {}", to_string(kept.status), to_string(t.status));
    } else if (kept.runs.size() != t.runs.size()) {
      what = fmt::format("{} vs {} runs", kept.runs.size(), t.runs.size());
    } else if (kept.file != t.file || kept.line != t.line) {
      what = fmt::format("location {}:{} vs {}:{}", kept.file, kept.line, t.file, t.line);
    } else {
      what = "different heap figures";
    }
    if (kept.binary != this_binary) {
      // Two binaries with the same identity: the same program run from two places, or two
      // programs that only share a file name.
      what += fmt::format("; binaries {} and {} both count as \"{}\": if they are different "
                          "programs, tell them apart with --root DIR",
                          kept.binary, this_binary, key.binary);
    }
    if (policy == ConflictPolicy::keep_all) {
      TestRecord renamed = t;
      renamed.name = fmt::format("{} [from {}]", t.name, inputs[pick].source);
      renamed.binary = this_binary;
      out.issues.push_back({MergeIssue::Kind::conflict, label(key),
                            {first_source, inputs[pick].source}, what,
                            fmt::format("{} differs between {} and {} ({}): both kept, the second "
                                        "as \"{}\"",
                                        printable_name(label(key)), first_source, inputs[pick].source,
                                        what, printable_name(label(TestKey{key.binary, renamed.name})))});
      merged.tests.push_back(std::move(renamed));
    } else {
      out.issues.push_back({MergeIssue::Kind::conflict, label(key),
                            {first_source, inputs[pick].source}, what,
                            fmt::format("{} differs between {} and {} ({}): the record of {} is "
                                        "kept",
                                        printable_name(label(key)), first_source,
                                        inputs[pick].source, what, first_source)});
    }
  }
  // A test's own binary is kept only where the merged report holds several.
  for (TestRecord& t : merged.tests) {
    if (t.binary == merged.binary) t.binary.clear();
  }
  return out;
}

}  // namespace memx
