// memx CLI: a baseline and a new report read for `diff` and `gate` without holding either
// whole: the baseline in a compact form, the new report streamed test by test against it,
// and only the tests that the output can name kept.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memx/report.hpp"

namespace memx::cli {

/// What read_pair keeps of two reports: every test of them that differs between them or is
/// in one only, each as the comparison sees it. diff_reports(base, now) of these gives the
/// diffs of the whole reports, less the tests that are the same on both sides.
struct ReportPair {
  /// The baseline's header (read_one_report's), and its tests that are not in the new
  /// report or differ there, in its order. Each is rebuilt from what the comparison reads
  /// (compared_figures, status, leak verdict, violations, budget, sites): its runs are its
  /// compared figures, once per run; its file, line, leak reason and timeline are not kept.
  Report base;
  /// The new report's header, and its tests that are not in the baseline or differ from
  /// it, in its order, whole.
  Report now;
  std::size_t base_tests = 0;  ///< tests in the whole baseline
  std::size_t now_tests = 0;   ///< tests in the whole new report
  /// Tests in both reports, left out of `base` and `now`: the same compared figures (with
  /// RSS and the number of runs), status, leak verdict, counted leak and gated budget
  /// violations on both sides, so that neither diff nor gate has anything to say of them.
  std::size_t same = 0;
  /// With PairHooks::places: each test left out, as its index in the new report and its
  /// name, in order (the names live in `names`).
  std::vector<std::pair<std::size_t, std::string_view>> left_out;
  std::shared_ptr<const void> names;  ///< owns what left_out's names point into
};

/// How read_pair treats each test as read: `base` and `now` may change a test before it is
/// compared (the gate's suppressions), and may be empty.
struct PairHooks {
  std::function<void(TestRecord&)> base;  ///< each test of the baseline
  std::function<void(TestRecord&)> now;   ///< each test of the new report
  /// The new report is read again from its start (what `now` counted is to be forgotten).
  std::function<void()> now_restart;
  /// Fill ReportPair::left_out (what lists every test, as `gate --junit`, needs).
  bool places = false;
};

/// Reads `base_paths` and `now_paths` for a comparison, with read_one_report's notes on
/// `err` (an incomplete report) and its messages. nullopt when the reports must be read
/// whole with read_one_report instead: either is more than one file (merged), or holds
/// tests of several binaries (tests are then matched by binary identity, under --root).
/// Throws InputError for unusable input, as read_one_report does, in the same order.
std::optional<ReportPair> read_pair(const std::vector<std::string>& base_paths,
                                    const std::vector<std::string>& now_paths, std::ostream& err,
                                    const PairHooks& hooks = {});

}  // namespace memx::cli
