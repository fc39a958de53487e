// memx CLI: the --json outputs of `show` and `diff` (docs/cli-json.schema.json), for CI
// systems and scripts.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

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

}  // namespace memx::cli
