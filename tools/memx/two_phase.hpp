// memx CLI: `memx check --stacks`, the two-phase check: the whole suite in counting mode,
// then only the tests judged leaking or over budget again in stack mode, their sites merged
// into the counting run's report.
#pragma once

#include <string>
#include <vector>

#include "memx/report.hpp"

namespace memx::cli {

/// The tests of a counting run that pay for stacks: judged `leak` or over budget, in the
/// report's order.
std::vector<std::string> culprits(const Report& report);

/// GoogleTest's --gtest_filter selecting exactly `names` (full names, "Suite.Name").
std::string gtest_filter(const std::vector<std::string>& names);

/// A Catch2 test spec matching the test case named `name` exactly: its special characters
/// (\ , [ ] ~ " *) escaped with a backslash.
std::string catch2_spec(const std::string& name);

/// The Catch2 TEST_CASE (one of `test_cases`) that memx's test `name` is a pass of: the
/// longest test case name that is `name`, or its start followed by " / " (a section path)
/// or " #" (a GENERATE's pass). "" when none is.
std::string catch2_test_case(const std::string& name, const std::vector<std::string>& test_cases);

/// Merges the sites of a stack-mode rerun into the counting run's report: `into` takes the
/// rerun's stack mode, and each test of `names` its sites from the rerun's test of the same
/// name. Its figures and verdict stay the counting run's (the whole suite ran there); the
/// verdict's reason names the site when the sites sharpen it without changing the verdict
/// (memx::refine_leak_by_sites). Returns the names the rerun has no record of.
std::vector<std::string> merge_sites(Report& into, const Report& rerun,
                                     const std::vector<std::string>& names);

}  // namespace memx::cli
