// memx CLI: the --json outputs of `show`, `diff` and `gate` (docs/cli-json.schema.json), for CI
// systems and scripts.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "gate_rules.hpp"
#include "memx/diff.hpp"
#include "memx/report.hpp"

namespace memx::cli {

/// The version of the --json outputs; a reader checks "format" and "version".
inline constexpr int kJsonOutputVersion = 1;

/// `memx show --json`: the report's header and the chosen tests (`labels[i]` is how
/// `tests[i]` is named, with its binary where the report holds several); `matching` is how
/// many tests --only selected before --top.
std::string show_json(const Report& report, const std::vector<const TestRecord*>& tests,
                      const std::vector<std::string>& labels, std::size_t matching);

/// `memx diff --json`: every test of both reports with its compared figures on each side,
/// and what changed.
std::string diff_json(const std::vector<TestDiff>& diffs, const std::string& base,
                      const std::string& now);

/// What `memx gate --json FILE` writes besides the diffs and regressions.
struct GateJsonFacts {
  std::string baseline;                         ///< the baseline as given
  std::string reports;                          ///< the new report(s) as given
  std::string tolerances;                       ///< "peak 10%, net 0 B, ..."
  bool passed = false;                          ///< the gate's verdict
  std::vector<std::string> missing;             ///< baseline tests not in the new report, gated
  std::vector<std::string> missing_allowed;     ///< ... not gated
  std::vector<std::string> incomplete;          ///< "baseline", "new report": gated
  std::vector<std::string> fixed;               ///< tests that no longer leak
  /// Tests of the comparison not in `diffs` (the same in both reports: ReportPair::same);
  /// counted in the totals.
  std::size_t unlisted = 0;
};

/// `memx gate --json FILE`: the verdict, every test with a regression (gated or allowed)
/// with its exact figures on both sides and each regression, the missing tests and totals.
std::string gate_json(const std::vector<TestDiff>& diffs, const std::vector<Regression>& regressions,
                      const GateJsonFacts& facts);

}  // namespace memx::cli
