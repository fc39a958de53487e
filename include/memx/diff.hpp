// memx: comparing two reports test by test (the memx CLI's diff and gate).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memx/report.hpp"

namespace memx {

/// The figures of one test that diff and gate compare: for each key the worst run, as for
/// budgets (analyze_report).
struct TestFigures {
  std::int64_t peak_bytes = 0;      ///< highest peak over the runs
  std::int64_t net_bytes = 0;       ///< highest net bytes over the runs
  std::int64_t net_blocks = 0;      ///< highest net blocks over the runs
  std::uint64_t allocs = 0;         ///< most allocations in one run
  std::int64_t rss_peak_bytes = 0;  ///< highest RSS growth over the runs
  std::size_t runs = 0;             ///< number of runs (0: the test never ran; figures are 0)
};

/// The worst-run figures of a test, over all its runs (as budgets and `memx show` use them).
TestFigures figures_of(const TestRecord& test);

/// The figures diff and gate compare: the worst of the runs after the warm-up (runs[0])
/// when the test ran at least twice, as the leak verdicts count them; the one run
/// otherwise. One-time growth (a static cache filled on first use, a library's lazy
/// initialisation) lands in whichever test runs first, so it moves between tests when the
/// order changes (--gtest_shuffle); the runs after the warm-up do not carry it. `runs` is
/// the number of all runs.
TestFigures compared_figures(const TestRecord& test);

/// One test as seen in the base report, the new report, or both.
struct TestDiff {
  /// The test's full name (points into the record's name, like base and now).
  std::string_view name;
  /// The binary_identity of the test's binary when the reports hold several binaries;
  /// "" when each report holds one (tests are then matched by name alone).
  std::string binary;
  /// The record in the base report, if any (points into the report given to diff_reports,
  /// which must outlive the diff).
  const TestRecord* base = nullptr;
  /// The record in the new report, if any (points into it, like base).
  const TestRecord* now = nullptr;
  /// compared_figures(*base); nullopt without a base record. Computed when asked (a diff of
  /// a million tests keeps three words per test, not its figures twice).
  std::optional<TestFigures> base_figures() const;
  /// compared_figures(*now); nullopt without a new record.
  std::optional<TestFigures> now_figures() const;

  /// The name as shown: qualified_name(binary, name).
  std::string label() const;

  /// In the new report only.
  bool added() const { return now && !base; }
  /// In the base report only.
  bool removed() const { return base && !now; }
  /// Judged `leak` in the new report and not in the base (including a new test that leaks).
  bool newly_leaks() const;
  /// Judged `leak` in the base report and not in the new one (removed tests excluded).
  bool leak_fixed() const;
  /// Over budget in the new report and not in the base (including a new test).
  bool newly_over_budget() const;
  /// In both and any of peak, net bytes, net blocks, allocations, status or verdict differ.
  bool changed() const;
};

/// Both reports test by test: the new report's tests in its order, then the tests only the
/// base report has, in its order. Tests are matched by identity (memx/identity.hpp): the
/// binary_identity of their binary under `root`, and their name; when each report holds a
/// single binary, by name alone (so a renamed binary still matches). A key that occurs
/// twice in one report is matched by position (its first occurrence with the other's
/// first, and so on).
std::vector<TestDiff> diff_reports(const Report& base, const Report& now,
                                   std::string_view root = {});

}  // namespace memx
