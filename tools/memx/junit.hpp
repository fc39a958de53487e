// memx CLI: `memx gate --junit FILE`, the gate's verdict as JUnit XML (GitLab's
// artifacts:reports:junit, Jenkins' junit step, any CI that reads JUnit).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gate_rules.hpp"
#include "memx/diff.hpp"

namespace memx::cli {

/// `text` as XML character data or an attribute value: & < " ' escaped (and > after "]]"), whatever XML
/// 1.0 cannot hold (control characters, bytes that are not UTF-8, U+FFFE, U+FFFF) written
/// as \xNN or \uNNNN. `attribute`: line breaks and tabs as character references, so that a
/// reader gets them back instead of spaces.
std::string xml_escape(std::string_view text, bool attribute);

/// What `memx gate --junit FILE` writes besides the tests.
struct GateJunitFacts {
  std::string allow;                           ///< the --allow file ("" when none)
  std::vector<std::string> missing;            ///< baseline tests not in the new report, gated
  std::vector<std::string> missing_allowed;    ///< ... not gated
  /// Incomplete reports that fail the gate: {"baseline" or "new report", its path(s)}.
  std::vector<std::pair<std::string, std::string>> incomplete;
  /// ... and those allowed by --allow-incomplete.
  std::vector<std::pair<std::string, std::string>> incomplete_allowed;
};

/// One <testcase> per test compared (the new report's, then the baseline's missing ones):
/// a <failure> for a test that regressed (message: its gate line; text: that line and the
/// exact figures on both sides) or is missing, <skipped> for a missing test that is not
/// gated, the allowed regressions in <system-out>; one more testcase per incomplete report.
/// `left_out`: tests of the new report not in `diffs` (the same in both reports:
/// ReportPair::left_out), each as its index in the new report and its name; each gets its
/// testcase in its place among the new report's.
std::string gate_junit(const std::vector<TestDiff>& diffs,
                       const std::vector<TestRegressions>& changed, const GateJunitFacts& facts,
                       const std::vector<std::pair<std::size_t, std::string_view>>& left_out = {});

}  // namespace memx::cli
