// memx CLI: the gate's rules: tolerances, the allow-list, and what counts as a regression.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memx/diff.hpp"

namespace memx::cli {

/// How much a figure may grow over its baseline before the gate fails: the larger of a
/// relative and an absolute allowance; `gated == false` turns the check off.
struct Tolerance {
  bool gated = true;                   ///< false: this figure is not gated ("off")
  std::optional<double> percent;       ///< relative allowance, percent of the baseline
  std::optional<std::int64_t> amount;  ///< absolute allowance (bytes or a count)

  /// The growth allowed over `base` (a negative base allows only the absolute amount).
  std::int64_t allowed_growth(std::int64_t base) const;
  /// Canonical text: "off", "10%", "4 KiB", "10% or 4 KiB" (`bytes`: amounts are sizes).
  std::string describe(bool bytes) const;
};

/// The result of parse_tolerance: a tolerance, or why the text is not one.
struct ToleranceParse {
  std::optional<Tolerance> tolerance;  ///< set on success
  std::string error;                   ///< set on failure
};

/// Parses "10%", "0", "4KiB" (`bytes`: sizes with B, KB/MB/GB, KiB/MiB/GiB as in budgets;
/// otherwise whole counts), "10%,4KiB" (whichever allows more) or "off".
ToleranceParse parse_tolerance(std::string_view text, bool bytes);

/// Test-name patterns whose regressions are reported but not gated.
struct AllowList {
  std::vector<std::string> patterns;  ///< '*' matches any run of characters

  /// True when `name` matches a pattern.
  bool allows(std::string_view name) const;
};

/// The result of parse_allow_list.
struct AllowListParse {
  std::optional<AllowList> list;  ///< set on success
  std::string error;              ///< set on failure: "<source>:<line>: <what>"
};

/// One pattern per line; blank lines and lines starting with '#' are ignored, and so is
/// whatever follows " #" on a line (a reason). Leading and trailing blanks are trimmed.
/// Rejects text that is not UTF-8-clean of control characters (a binary file).
AllowListParse parse_allow_list(std::string_view text, std::string_view source);

/// The gate's settings.
struct GateRules {
  Tolerance peak{true, 10.0, std::nullopt};      ///< peak bytes
  Tolerance net{true, std::nullopt, 0};          ///< net bytes
  Tolerance allocs{true, 10.0, std::nullopt};    ///< allocations
  Tolerance rss{false, std::nullopt, std::nullopt};  ///< RSS growth (off by default: noisy)
  AllowList allow;                               ///< tests reported but not gated
};

/// One reason for the gate to fail.
struct Regression {
  std::string test;     ///< the test's name
  std::string what;     ///< "leak", "budget", "peak", "net", "allocs" or "rss"
  std::string base;     ///< the baseline's value for people ("" when new)
  std::string now;      ///< the new value for people
  std::string change;   ///< "+4 KiB, +50.0%", "" for leak and budget
  std::string message;  ///< this regression alone, with the test's name, for people
  bool allowed = false; ///< the test is on the allow-list
  std::string detail;   ///< `message` without the test's name: one part of the test's line
};

/// A test's regressions together: what the gate prints on one line per changed test.
struct TestRegressions {
  std::string test;                       ///< the test's name
  bool allowed = false;                   ///< the test is on the allow-list
  std::vector<const Regression*> found;   ///< its regressions, in find_regressions' order
  std::string line;                       ///< "Name: peak 1 KiB -> 2 KiB (...); net ..."
};

/// `regressions` (find_regressions' output) grouped by test, in test order.
std::vector<TestRegressions> group_by_test(const std::vector<Regression>& regressions);

/// Every regression of `diffs` under `rules`, in test order.
std::vector<Regression> find_regressions(const std::vector<TestDiff>& diffs,
                                         const GateRules& rules);

/// "+4 KiB, +50.0%" for a change from `base` to `now` (`bytes`: sizes, else counts).
std::string describe_change(std::int64_t base, std::int64_t now, bool bytes);

}  // namespace memx::cli
