// memx::catch2_main: Catch2's main with memx's flags added to its command line
// (session.cli() | Opt(...)), and --memx-repeat / MEMX_REPEAT running the selected tests
// N times in this process, repetition after repetition, as --gtest_repeat does.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#if defined(MEMX_CATCH2_V3)
#include <catch2/catch_session.hpp>
#include <catch2/catch_version_macros.hpp>  // CATCH_VERSION_MAJOR, which the branches below test
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include "memx/catch2.hpp"
#include "memx/config.hpp"
#include "runtime.hpp"

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

constexpr std::string_view kMemxFlags[] = {
    "--memx-report", "--memx-budget",    "--memx-fail-on-leak", "--memx-repeat",
    "--memx-stacks", "--memx-sites",     "--memx-warn-only",    "--memx-threads",
    "--memx-suppressions", "--memx-report-optional"};

/// memx's flags checked before Catch2 parses them, so that a mistyped one
/// (--memx-budegt=...) or a bad repetition count stops the run with memx's one line and
/// exit code 2, as a bad MEMX_* setting does, rather than Catch2's generic message.
/// Returns "" or the message.
std::string check_memx_flags(int argc, char* argv[]) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--memx-", 0) != 0) continue;
    const std::string_view name = arg.substr(0, arg.find('='));
    bool known = false;
    for (std::string_view k : kMemxFlags) known = known || name == k;
    if (!known) {
      return "memx: unknown flag " + std::string(name) +
             " (known: --memx-report=PATH, --memx-budget=TEXT, --memx-fail-on-leak, "
             "--memx-repeat=N, --memx-stacks[=DEPTH], --memx-sites=N, --memx-warn-only, "
             "--memx-threads=current|all, --memx-suppressions=FILE, --memx-report-optional)";
    }
    if ((name == "--memx-fail-on-leak" || name == "--memx-warn-only" ||
         name == "--memx-report-optional") &&
        name.size() < arg.size()) {
      const std::string_view value = arg.substr(name.size() + 1);
      if (!memx::parse_bool(value)) {
        return "memx: " + std::string(arg) +
               ": expected 1/0, true/false, yes/no or on/off, not \"" + std::string(value) + "\"";
      }
      continue;
    }
    if (name == "--memx-stacks" || name == "--memx-sites" || name == "--memx-threads" ||
        name == "--memx-suppressions") {
      // Checked with the plugin's own parser, which gives the message.
      memx::OptionsParse p = memx::parse_plugin_options({"", std::string(arg)},
                                                        [](const char*) -> const char* { return nullptr; });
      if (!p.errors.empty()) return p.errors.front();
      continue;
    }
    if (name != "--memx-repeat") continue;
    std::string_view value;
    if (name.size() < arg.size()) {
      value = arg.substr(name.size() + 1);
    } else if (i + 1 < argc) {
      value = argv[i + 1];  // --memx-repeat N
    }
    int n = 0;
    if (!memx::catch2::detail::parse_repeat(value, n)) {
      return "memx: --memx-repeat=" + std::string(value) +
             ": expected a number of repetitions from 1 to 100000";
    }
  }
  return "";
}

}  // namespace

int main(int argc, char* argv[]) {
  Catch::Session session;
  std::string report;
  std::string budget;
  bool fail_on_leak = false;
  if (const std::string bad = check_memx_flags(argc, argv); !bad.empty()) {
    std::fprintf(stderr, "%s\n", bad.c_str());
    return memx::kSettingsErrorExit;
  }
  int repeat = 0;
  bool stacks = false;
  bool warn_only = false;
  bool report_optional = false;
  std::string sites;
  std::string threads;
  std::string suppressions;
  auto cli = session.cli() |
             clara::Opt(report, "path")["--memx-report"](
                 "write memx's report to <path> (%p: the process id; a directory: one file per process)") |
             clara::Opt(report_optional)["--memx-report-optional"](
                 "a report that cannot be written is a warning, not a failed run") |
             clara::Opt(budget, "budget")["--memx-budget"](
                 "memory budget of every test, e.g. \"peak=4MiB, net=0, allocs=20000\"") |
             clara::Opt(fail_on_leak)["--memx-fail-on-leak"](
                 "fail tests that leak (verdict leak, medium confidence or more)") |
             clara::Opt(repeat, "N")["--memx-repeat"](
                 "run the selected tests N times; the first repetition is the leak verdicts' warm-up") |
             clara::Opt(stacks)["--memx-stacks"](
                 "stack mode: record each allocation's call stack (=DEPTH frames, 32 by default) "
                 "and name the lines of what tests leave live") |
             clara::Opt(sites, "N")["--memx-sites"]("allocation sites kept per test in stack mode (10)") |
             clara::Opt(warn_only)["--memx-warn-only"](
                 "report budget violations and leaks without failing any test") |
             clara::Opt(threads, "current|all")["--memx-threads"](
                 "count only the test's own thread (current) or every thread (all, the default)") |
             clara::Opt(suppressions, "file")["--memx-suppressions"](
                 "leak suppressions: LeakSanitizer's leak:PATTERN lines and test:PATTERN lines");
  session.cli(cli);
  // --memx-fail-on-leak=VALUE, --memx-warn-only=VALUE, --memx-report-optional=VALUE and
  // --memx-stacks=DEPTH are memx's (Catch2's flags take no
  // value): checked above, handed to memx as given, and kept from Catch2, which would take
  // VALUE for a test name.
  std::vector<char*> catch_args;
  std::vector<std::string> fail_on_leak_values;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i > 0 && (arg.rfind("--memx-fail-on-leak=", 0) == 0 || arg.rfind("--memx-stacks=", 0) == 0 ||
                  arg.rfind("--memx-warn-only=", 0) == 0 ||
                  arg.rfind("--memx-report-optional=", 0) == 0)) {
      fail_on_leak_values.emplace_back(arg);
    } else {
      catch_args.push_back(argv[i]);
    }
  }
  if (const int rc = session.applyCommandLine(static_cast<int>(catch_args.size()), catch_args.data());
      rc != 0) {
    return rc;
  }

  const Catch::ConfigData user = session.configData();
  if (runs_no_tests(user)) return session.run();

  std::vector<std::string> flags{argc > 0 ? argv[0] : ""};
  if (!report.empty()) flags.push_back("--memx-report=" + report);
  if (!budget.empty()) flags.push_back("--memx-budget=" + budget);
  if (fail_on_leak) flags.push_back("--memx-fail-on-leak");
  if (stacks) flags.push_back("--memx-stacks");
  if (!sites.empty()) flags.push_back("--memx-sites=" + sites);
  if (warn_only) flags.push_back("--memx-warn-only");
  if (report_optional) flags.push_back("--memx-report-optional");
  if (!threads.empty()) flags.push_back("--memx-threads=" + threads);
  if (!suppressions.empty()) flags.push_back("--memx-suppressions=" + suppressions);
  flags.insert(flags.end(), fail_on_leak_values.begin(), fail_on_leak_values.end());

  const bool quiet_warm_up = output_is_a_document(user);
  return memx::catch2::run(flags, repeat, [&](int index, bool last) {
    // The warm-up repetitions of a run that writes a document (a file, JUnit, XML) go
    // nowhere; the last one writes it whole. The console shows every repetition. Every
    // repetition has the same reporters, which hold what they hold at the same points (a
    // JUnit reporter keeps the run's results to its end): the leak rule compares the live
    // heap at each repetition's end.
    if (quiet_warm_up && !last) {
      Catch::ConfigData quiet = user;
#if CATCH_VERSION_MAJOR >= 3
      for (Catch::ReporterSpec& spec : quiet.reporterSpecifications) {
        spec = Catch::ReporterSpec(spec.name(), std::string("/dev/null"), spec.colourMode(),
                                   spec.customOptions());
      }
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
