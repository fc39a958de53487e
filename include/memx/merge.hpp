// memx: merging the reports of several test processes (GoogleTest shards, one process per
// test under ctest -j) into one report.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "memx/report.hpp"

namespace memx {

/// A report and the name of the file it came from (for messages).
struct SourcedReport {
  std::string source;  ///< usually the file name
  Report report;       ///< the report read from it
};

/// Something merge_reports noticed; none of them loses a test silently.
struct MergeIssue {
  /// What kind of thing was noticed.
  enum class Kind {
    duplicate,   ///< the same test with the same figures in several reports: kept once
    conflict,    ///< the same test with different figures or status: see ConflictPolicy
    incomplete,  ///< a report of a process that did not finish (crashed or still running)
    mismatch,    ///< reports disagree on framework, backend, repetitions or iteration count
    stale,       ///< a report's tests that a newer run (Report::run_id) also has: dropped
  };
  Kind kind = Kind::duplicate;       ///< the kind
  std::string test;                  ///< the test concerned ("" for a whole report)
  std::vector<std::string> sources;  ///< the reports concerned
  std::string detail;                ///< for a conflict: what differs ("status passed vs failed")
  std::string message;               ///< one line for people
};

/// What merge_reports does with a test whose records conflict.
enum class ConflictPolicy {
  keep_first,  ///< keep the record of the first report that has the test
  keep_all,    ///< keep every record; later ones are renamed "<name> [from <source>]"
};

/// The merged report and what was noticed on the way.
struct MergeResult {
  Report report;                    ///< the merged report
  std::vector<MergeIssue> issues;   ///< in the order they were found
  /// The number of issues of the given kind.
  std::size_t count(MergeIssue::Kind kind) const;
};

/// "duplicate", "conflict", "incomplete", "mismatch" or "stale".
const char* to_string(MergeIssue::Kind kind);

/// True when two records of the same test agree on everything a process measures
/// deterministically: name, location, status and every run's heap figures (net bytes and
/// blocks, peak, allocations). RSS and durations are allowed to differ.
bool same_heap_figures(const TestRecord& a, const TestRecord& b);

/// Merges reports of separate processes into one. A single report comes back unchanged.
/// First, each test keeps only its newest run: where several reports have a test and their
/// run identifiers (Report::run_id) differ, the records of the older runs are dropped (one
/// "stale" issue per report that loses tests; a report without a run identifier is older
/// than any with one), and a report all of whose tests are dropped takes no part in the
/// merge (its header neither). Then: tests keep the order of each input and are interleaved by source location
/// (file, line), which restores the order of a single-process run of sharded tests from one
/// file; each test keeps the budget check and leak verdict of its own process (the handoff
/// rule only applies within a process). The merged report is complete when every input
/// is; pid is 0; binary, framework and backend are the inputs' common value, or their
/// distinct values joined with ", "; repetitions is the largest; started_at the earliest,
/// finished_at the latest; iteration_end_live_bytes is the element-wise sum when every
/// input has the same number of entries (the live heap of all the processes together),
/// empty otherwise. A test is identified by its binary's binary_identity under `root`
/// (memx/identity.hpp) and its name: the same name in two binaries is two tests, each
/// keeping its binary (TestRecord::binary, set where the merged report holds several).
MergeResult merge_reports(const std::vector<SourcedReport>& inputs, ConflictPolicy policy,
                          std::string_view root = {});
/// The same, taking the inputs' records instead of copying them (a report of a million
/// tests is then in memory once); `inputs` is left empty or moved from.
MergeResult merge_reports(std::vector<SourcedReport>&& inputs, ConflictPolicy policy,
                          std::string_view root = {});

}  // namespace memx
