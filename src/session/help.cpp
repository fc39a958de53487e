// memx's part of a test binary's --help (help.hpp).
#include "session/help.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace memx::detail {
namespace {

struct Setting {
  std::string_view flag;      // "" when there is none
  std::string_view variable;  // "" when there is none
  std::string_view meaning;
};

// The plugins' settings (src/session/options.cpp; --memx-repeat: the Catch2 plugin's).
constexpr Setting kSettings[] = {
    {"--memx-report=PATH", "MEMX_REPORT",
     "write the report to PATH (%p: the pid; a directory/: memx-<pid>.json in it)"},
    {"--memx-report-optional[=B]", "MEMX_REPORT_OPTIONAL",
     "a report that cannot be written is a warning, not a failed run"},
    {"--memx-budget=TEXT", "MEMX_BUDGET", "budget of every test, e.g. \"peak=4MiB, net=0, allocs=20000\""},
    {"--memx-fail-on-leak[=B]", "MEMX_FAIL_ON_LEAK", "fail tests whose leak verdict is leak"},
    {"--memx-repeat=N", "MEMX_REPEAT", "run the tests N times (the first: the leak verdicts' warm-up)"},
    {"--memx-stacks[=DEPTH]", "MEMX_STACKS", "stack mode: the lines of what tests leave live and of their peaks"},
    {"--memx-sites=N", "MEMX_SITES", "allocation sites kept per test in stack mode (1-1000, default 10)"},
    {"--memx-resources[=B]", "MEMX_RESOURCES", "list each test's new descriptors and threads (default: under fail-on-leak or an fds/threads budget; =0: never)"},
    {"", "MEMX_QUIET", "1: no end-of-run summary"},
    {"", "MEMX_COLOR", "0/1/auto: colours of the summary"},
    {"", "MEMX_PROPERTIES", "1: record memx's figures as test properties"},
    {"", "MEMX_CTEST_MEASUREMENTS", "1: print each test's figures as CTest measurements (CDash)"},
    {"", "MEMX_SAMPLE_INTERVAL", "RSS sampling interval (10ms)"},
};

}  // namespace

bool asks_catch2_for_help(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h" || a == "-?") return true;
  }
  return false;
}

std::string plugin_help(HelpFramework framework) {
  const bool gtest = framework == HelpFramework::googletest;
  std::string out =
      "\nmemx (linked into this binary: memory figures, budgets and leak verdicts per test).\n";
  out += gtest ? "Flags, or the environment variable beside each (the flag wins):\n"
               : "Flags (with memx::catch2_main, or your main through memx::catch2::run; with\n"
                 "Catch2's own main, the environment only), or the environment variable beside\n"
                 "each (the flag wins):\n";
  for (const Setting& s : kSettings) {
    if (gtest && s.flag == "--memx-repeat=N") continue;  // --gtest_repeat
    std::string left = s.flag.empty() ? std::string(s.variable) : std::string(s.flag);
    if (!s.flag.empty() && !s.variable.empty()) left += ", " + std::string(s.variable);
    out += "  " + left;
    out += left.size() < 44 ? std::string(44 - left.size(), ' ') : std::string("  ");
    out += std::string(s.meaning) + "\n";
  }
  out += gtest ? "Repetitions (leak verdicts): --gtest_repeat=N. Report tools: the memx program.\n"
               : "Report tools: the memx program.\n";
  return out;
}

}  // namespace memx::detail
