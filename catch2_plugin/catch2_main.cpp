// memx::catch2_main: Catch2's main with memx's flags added to its command line
// (session.cli() | Opt(...)), and --memx-repeat / MEMX_REPEAT running the selected tests
// N times in this process, repetition after repetition, as --gtest_repeat does.
#include <cstdio>
#include <string>
#include <vector>

#if defined(MEMX_CATCH2_V3)
#include <catch2/catch_session.hpp>
#include <catch2/catch_version_macros.hpp>  // CATCH_VERSION_MAJOR, which the branches below test
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include "memx/catch2.hpp"

#if !defined(CATCH_VERSION_MAJOR) || (CATCH_VERSION_MAJOR >= 3) != defined(MEMX_CATCH2_V3)
#error "memx: the Catch2 headers found do not match MEMX_CATCH2_V3"
#endif

namespace {

#if CATCH_VERSION_MAJOR >= 3
namespace clara = Catch::Clara;
#else
namespace clara = Catch::clara;
#endif

/// True when the run lists or explains instead of running tests: it happens once.
bool runs_no_tests(const Catch::ConfigData& c) {
#if CATCH_VERSION_MAJOR >= 3
  return c.listTests || c.listTags || c.listReporters || c.listListeners || c.showHelp ||
         c.libIdentify;
#else
  return c.listTests || c.listTags || c.listReporters || c.listTestNamesOnly || c.showHelp ||
         c.libIdentify;
#endif
}

/// True when repeated output would not stay readable: a file, or a reporter other than
/// the console ones (several JUnit or XML documents in a row are no longer a document).
bool output_is_a_document(const Catch::ConfigData& c) {
#if CATCH_VERSION_MAJOR >= 3
  if (c.reporterSpecifications.empty()) return false;
  for (const auto& spec : c.reporterSpecifications) {
    if (spec.outputFile() || (spec.name() != "console" && spec.name() != "compact")) return true;
  }
  return false;
#else
  return !c.outputFilename.empty() || (c.reporterName != "console" && c.reporterName != "compact");
#endif
}

}  // namespace

int main(int argc, char* argv[]) {
  Catch::Session session;
  std::string report;
  std::string budget;
  bool fail_on_leak = false;
  int repeat = 0;
  auto cli = session.cli() |
             clara::Opt(report, "path")["--memx-report"](
                 "write memx's report to <path> (%p: the process id; a directory: one file per process)") |
             clara::Opt(budget, "budget")["--memx-budget"](
                 "memory budget of every test, e.g. \"peak=4MiB, net=0, allocs=20000\"") |
             clara::Opt(fail_on_leak)["--memx-fail-on-leak"](
                 "fail tests that leak (verdict leak, medium confidence or more)") |
             clara::Opt(repeat, "N")["--memx-repeat"](
                 "run the selected tests N times; the first repetition is the leak verdicts' warm-up");
  session.cli(cli);
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;

  const Catch::ConfigData user = session.configData();
  if (runs_no_tests(user)) return session.run();

  std::vector<std::string> flags{argc > 0 ? argv[0] : ""};
  if (!report.empty()) flags.push_back("--memx-report=" + report);
  if (!budget.empty()) flags.push_back("--memx-budget=" + budget);
  if (fail_on_leak) flags.push_back("--memx-fail-on-leak");
  if (repeat < 0 || repeat > 100000) {
    std::fprintf(stderr, "memx: --memx-repeat=%d: expected a number of repetitions from 1 to 100000\n",
                 repeat);
    return 1;
  }

  const bool quiet_warm_up = output_is_a_document(user);
  return memx::catch2::run(flags, repeat, [&](int index, bool last) {
    // The warm-up repetitions of a run that writes a document (a file, JUnit, XML) go
    // nowhere; the last one writes it whole. The console shows every repetition.
    if (quiet_warm_up && !last) {
      Catch::ConfigData quiet = user;
#if CATCH_VERSION_MAJOR >= 3
      quiet.reporterSpecifications.clear();
      quiet.defaultOutputFilename = "/dev/null";
#else
      quiet.outputFilename = "/dev/null";
#endif
      session.useConfigData(quiet);
    } else if (quiet_warm_up && index > 0) {
      session.useConfigData(user);
    }
    return session.run();
  });
}
