// memx: the framework-neutral half of a test plugin. A Session measures each test, keeps
// its runs across repetitions, applies budgets, judges leaks, writes the report as tests
// finish and prints the end-of-run summary. The GoogleTest and Catch2 plugins only
// translate their framework's events into Session calls and its answers into failures.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memx/budget.hpp"
#include "memx/budget_macros.hpp"  // MEMX_BUDGET, register_group_budget
#include "memx/counters.hpp"
#include "memx/report.hpp"
#include "memx/rss.hpp"
#include "memx/suppressions.hpp"

namespace memx {

/// Settings of a test plugin, from --memx-* flags with MEMX_* environment variables as defaults.
/// MEMX_BREAK_ON_ALLOC=TEST:N[@RUN]: raise SIGTRAP at allocation N of that test (of its
/// run RUN, 1-based; of every run when no RUN is given).
struct AllocBreak {
  std::string test;         ///< the test's full name, as in the report
  std::uint64_t number = 0; ///< 1 or more
  int run = 0;              ///< 0: any run
};

struct PluginOptions {
  std::string report_pattern;         ///< --memx-report / MEMX_REPORT; empty: no report
  bool report_from_bazel = false;     ///< report_pattern is the default under `bazel test` (TEST_UNDECLARED_OUTPUTS_DIR)
  bool report_optional = false;       ///< --memx-report-optional / MEMX_REPORT_OPTIONAL: a report that cannot be written warns, fails nothing
  std::string budget_text;            ///< --memx-budget / MEMX_BUDGET, as given
  Budget budget;                      ///< budget_text parsed: the global default budget
  bool fail_on_leak = false;          ///< --memx-fail-on-leak / MEMX_FAIL_ON_LEAK
  /// MEMX_RESOURCES: list each test's descriptors and threads (on) or not (off); unset: only
  /// under --memx-fail-on-leak or a budget with fds=N or threads=N (docs/leak-verdicts.md).
  std::optional<bool> resources;
  int stacks_depth = 0;               ///< --memx-stacks[=DEPTH] / MEMX_STACKS; 0: stack mode off
  std::uint64_t stacks_sample = 0;    ///< --memx-stacks=sample:SIZE: sampling mean; 0: every allocation
  int top_sites = 10;                 ///< --memx-sites=N / MEMX_SITES: sites kept per test
  bool warn_only = false;             ///< --memx-warn-only / MEMX_WARN_ONLY: report, never fail
  Threads threads = Threads::all;     ///< --memx-threads / MEMX_THREADS: whose allocations count
  std::string suppressions_path;      ///< --memx-suppressions / MEMX_SUPPRESSIONS, "" = none
  std::vector<Suppression> suppressions;  ///< the file's lines, read when the options are parsed
  bool quiet = false;                 ///< MEMX_QUIET: no end-of-run summary
  bool ctest_measurements = false;    ///< MEMX_CTEST_MEASUREMENTS: each test's figures as <CTestMeasurement> lines
  bool properties = false;            ///< MEMX_PROPERTIES: framework properties even without an output file
  std::optional<bool> color;          ///< MEMX_COLOR; unset: the framework's choice
  std::optional<AllocBreak> break_on_alloc;  ///< MEMX_BREAK_ON_ALLOC
};

/// The exit code of a run stopped by a setting memx cannot use (OptionsParse::errors).
inline constexpr int kSettingsErrorExit = 2;

/// The result of parse_plugin_options.
struct OptionsParse {
  PluginOptions options;              ///< valid settings (bad values are left at their defaults)
  /// One line per setting memx cannot use, naming the flag or variable: a bad value of a
  /// flag or of MEMX_REPORT, MEMX_BUDGET, MEMX_FAIL_ON_LEAK, MEMX_STACKS, MEMX_SITES,
  /// MEMX_BREAK_ON_ALLOC, MEMX_WARN_ONLY, MEMX_THREADS, MEMX_REPORT_OPTIONAL, MEMX_RESOURCES, a missing, unreadable or malformed
  /// suppressions file (MEMX_SUPPRESSIONS), an unknown --memx-* flag. The
  /// plugins stop the run on any of them, before the first test, with exit code 2.
  std::vector<std::string> errors;
  /// One line per bad value of a setting that changes no verdict (MEMX_QUIET,
  /// MEMX_PROPERTIES, MEMX_COLOR, MEMX_CTEST_MEASUREMENTS): its default is used.
  std::vector<std::string> warnings;
};

/// Reads an environment variable: nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;

/// Parses the --memx-* arguments among `args` (others are ignored, args[0] included) on top
/// of the MEMX_* variables read through `env`. Flags: --memx-report=PATH,
/// --memx-budget=TEXT, --memx-fail-on-leak[=BOOL], --memx-stacks[=DEPTH], --memx-sites=N,
/// --memx-warn-only[=BOOL], --memx-threads=current|all, --memx-suppressions=FILE,
/// --memx-report-optional[=BOOL]. With no report asked for and TEST_UNDECLARED_OUTPUTS_DIR
/// set (`bazel test`), the report goes there: memx-<pid>.json, or memx-shard<N>-<pid>.json
/// under TEST_SHARD_INDEX=N.
OptionsParse parse_plugin_options(const std::vector<std::string>& args, const EnvLookup& env);

/// The process's arguments from /proc/self/cmdline (works before main and with any main);
/// empty when unreadable.
std::vector<std::string> read_process_arguments();

/// True when one of `args` is `flag` or starts with `flag=`.
bool has_flag(const std::vector<std::string>& args, std::string_view flag);

/// Allocations a test framework made for itself during a test (the failure messages and
/// properties it keeps, its fixture bookkeeping), taken off the test's figures.
struct FrameworkShare {
  std::int64_t bytes = 0;      ///< live bytes the framework still holds, from net_bytes
  std::int64_t blocks = 0;     ///< live blocks the framework still holds, from net_blocks
  std::uint64_t allocs = 0;    ///< allocations it made, from allocs
  std::int64_t peak_bytes = 0; ///< bytes it held throughout the test, from peak_bytes

  /// Adds another share.
  FrameworkShare& operator+=(const FrameworkShare& o) noexcept {
    bytes += o.bytes;
    blocks += o.blocks;
    allocs += o.allocs;
    peak_bytes += o.peak_bytes;
    return *this;
  }
};

/// Measures one run of a test: heap counters of every thread, a high-water mark and RSS.
/// RSS comes from a sampler thread (every MEMX_SAMPLE_INTERVAL, 10 ms by default, while a
/// Session runs) plus an exact reading at the end of tests of 1 ms or more, so that a
/// trivial test costs no system call. Every method is meant to be called under
/// memx::Uncounted.
class TestMeter {
 public:
  TestMeter();
  ~TestMeter();
  TestMeter(const TestMeter&) = delete;
  TestMeter& operator=(const TestMeter&) = delete;

  /// Opens the windows; the measured interval starts on return.
  void start();
  /// Closes the windows and returns the run's figures less the framework's share.
  RunRecord stop(const FrameworkShare& share);
  /// True between start() and stop().
  bool running() const noexcept { return running_; }
  /// The last run's figures counting the calling thread's allocations only (threads=current):
  /// its own net, allocations and high-water mark (memx::this_thread_counters), less the
  /// framework's share. Valid after stop() on the thread that called start().
  const RunRecord& thread_run() const noexcept { return thread_run_; }
  /// The process's live heap when the last stop() ended the run.
  std::int64_t end_live_bytes() const noexcept { return peak_ ? peak_->end_counters().live_bytes : 0; }
  /// The process's live heap when the last start() began the run.
  std::int64_t start_live_bytes() const noexcept { return start_.live_bytes; }
  /// The RSS level the last start() measured the run's RSS growth from.
  std::int64_t rss_start_bytes() const noexcept { return rss_start_; }
  /// When the last start() began the run.
  std::chrono::steady_clock::time_point started_at() const noexcept { return started_; }

 private:
  Counters start_{};
  Counters thread_start_{};
  RunRecord thread_run_{};
  std::chrono::steady_clock::time_point started_{};
  std::optional<PeakWindow> peak_;
  std::int64_t rss_start_ = 0;
  bool running_ = false;
};

/// Identifies a test for a Session.
struct TestId {
  std::string name;   ///< full name, "Suite.Test" in GoogleTest
  std::string group;  ///< the name group budgets are registered under ("Suite"), may be empty
  std::string file;   ///< source file, "" when unknown
  int line = 0;       ///< source line, 0 when unknown
};

/// The same, as a plugin has it at hand: Session::begin_test copies it into storage the
/// session keeps from one test to the next (no allocation per test once it is large enough).
struct TestIdView {
  std::string_view name;
  std::string_view group;
  std::string_view file;
  int line = 0;
};

/// What a plugin must do at the end of a test.
struct TestOutcome {
  RunRecord run;                      ///< the figures of this run
  bool measured = true;               ///< false: `run` holds no figures (Report::measured)
  std::vector<std::string> failures;  ///< failures to add to the test, one message each
  /// Messages to show without failing the test: violations and leaks under warn-only, a
  /// suppressed leak. The plugins print them.
  std::vector<std::string> notes;
};

/// How a Session is set up.
struct SessionConfig {
  PluginOptions options;         ///< flags and environment
  std::string framework;         ///< "googletest" or "catch2"
  std::string binary;            ///< path of the test executable
  bool write_report = true;      ///< false in a child process (death test): never touch the report
};

/// One test process's measurements. Not copyable; the plugin creates one and drives it from
/// the framework's events. Every method guards itself with memx::Uncounted.
class Session {
 public:
  /// Creates the session and makes it the process's current one (for MEMX_BUDGET).
  explicit Session(SessionConfig config);
  /// Detaches the session; writes nothing.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// The process's current session, or nullptr.
  static Session* current() noexcept;

  /// The settings.
  const PluginOptions& options() const noexcept;

  /// The run starts; `repetitions` <= 0 means "until stopped" (no last repetition);
  /// `tests_hint` is how many tests one repetition runs, if known (to reserve room).
  void begin_run(int repetitions, std::size_t tests_hint = 0);
  /// Repetition `index` (from 0) starts.
  void begin_iteration(int index);
  /// Each test's repetitions follow each other (no whole iterations, no end_iteration):
  /// the leak verdict that fails a test in its last repetition is then the one the report
  /// and the summary give, from the test's own runs alone.
  void judge_tests_alone() noexcept;
  /// Starts measuring a test: call last before the test's own code runs.
  void begin_test(const TestIdView& id);
  /// The same; `id`'s storage is freed here, never counted as the test's.
  void begin_test(TestId id);
  /// Stops measuring (call first after the test's own code ends), records the run, checks
  /// the budget, judges leaks in the last repetition, updates the report.
  TestOutcome end_test(TestStatus status, const FrameworkShare& share);
  /// True between begin_test and end_test.
  bool in_test() const noexcept;
  /// Gives the running test the identity it is recorded under, for frameworks that know a
  /// run's name only at its end (a Catch2 test case run is named after the SECTIONs it
  /// entered). Does nothing outside a test.
  void rename_test(TestId id);
  /// The same, copied into the running test's own strings (no allocation once they are
  /// large enough).
  void rename_test(const TestIdView& id);
  /// Repetition `index` ended: records the live heap of the whole process.
  void end_iteration(int index);
  /// The same with the live heap the caller read at the same point of every repetition
  /// (a framework that knows a repetition ended only when the next one starts).
  void end_iteration(int index, std::int64_t live_bytes);
  /// The run ended: final analysis, complete report.
  void end_run();

  /// MEMX_BUDGET(text) in the running test: records its budget (or its parse error).
  void declare_test_budget(std::string_view text, const char* file, int line);

  /// The end-of-run summary, one line when all is well; `color` adds ANSI colours.
  std::string summary(bool color) const;
  /// Under MEMX_CTEST_MEASUREMENTS=1, each measured test's figures (as the gate compares
  /// them) as CTest measurement tags, one per line, for the plugins to print on stdout:
  /// CTest puts them in Test.xml and CDash shows them per test. "" otherwise.
  std::string ctest_measurements() const;

  /// Writes the report if tests finished since the last write and the run has not ended
  /// (the plugin calls it when the process exits early).
  void flush();
  /// Writes the report now if one is configured (false and *error on failure).
  bool write_report(std::string* error = nullptr);
  /// The report as it stands (analysed at the last write or at end_run).
  const Report& report() const noexcept;
  /// The path the report is written to ("" when none).
  const std::string& report_path() const noexcept;
  /// True when the last attempt to write this run's report failed (the error was printed):
  /// the plugins then make the test binary exit non-zero, so no later step reads an
  /// earlier run's report as this one's. False under report_optional (then a warning was
  /// printed instead and the run's exit code is the tests' own).
  bool report_failed() const noexcept;

  struct Impl;  ///< internal

 private:
  std::unique_ptr<Impl> impl_;
};

/// Declares the budget of the running test (what MEMX_BUDGET comes to, see
/// memx/budget_macros.hpp). Outside a test or without a plugin it does nothing.
void declare_budget(std::string_view text, const char* file, int line) noexcept;

}  // namespace memx
