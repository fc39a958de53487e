// Unit tests of memx::session, the framework-neutral half of the plugins: option parsing,
// budgets combined from three levels, leak failures in the last repetition, the report as
// tests finish (never from a forked child) and the summary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "memx/config.hpp"
#include "memx/session.hpp"
#include "memx/uncounted.hpp"
#include "memx/units.hpp"

namespace {

using Env = std::map<std::string, std::string>;

memx::OptionsParse parse(std::vector<std::string> args, Env env = {}) {
  args.insert(args.begin(), "/path/to/test");
  return memx::parse_plugin_options(args, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(Options, DefaultsWhenNothingIsGiven) {
  const memx::OptionsParse p = parse({"--gtest_repeat=3", "positional"});
  EXPECT_TRUE(p.errors.empty());
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.options.report_pattern, "");
  EXPECT_TRUE(p.options.budget.empty());
  EXPECT_FALSE(p.options.fail_on_leak);
  EXPECT_FALSE(p.options.quiet);
  EXPECT_FALSE(p.options.color.has_value());
}

TEST(Options, EnvironmentGivesDefaults) {
  const memx::OptionsParse p = parse({}, {{"MEMX_REPORT", "out/%p.json"},
                                          {"MEMX_BUDGET", "peak=4MiB, net=0"},
                                          {"MEMX_FAIL_ON_LEAK", "yes"},
                                          {"MEMX_QUIET", "1"},
                                          {"MEMX_COLOR", "no"}});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.options.report_pattern, "out/%p.json");
  EXPECT_EQ(p.options.budget.peak, 4 << 20);
  EXPECT_EQ(p.options.budget.net, 0);
  EXPECT_EQ(p.options.budget_text, "peak=4MiB, net=0");
  EXPECT_TRUE(p.options.fail_on_leak);
  EXPECT_TRUE(p.options.quiet);
  EXPECT_EQ(p.options.color, std::optional<bool>(false));
}

TEST(Options, BreakOnAllocTakesTheNumberAfterTheLastColon) {
  memx::OptionsParse p = parse({}, {{"MEMX_BREAK_ON_ALLOC", "parse: a:b:12@3"}});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  ASSERT_TRUE(p.options.break_on_alloc.has_value());
  EXPECT_EQ(p.options.break_on_alloc->test, "parse: a:b");
  EXPECT_EQ(p.options.break_on_alloc->number, 12u);
  EXPECT_EQ(p.options.break_on_alloc->run, 3);
  p = parse({}, {{"MEMX_BREAK_ON_ALLOC", "Suite.Test:7"}});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.options.break_on_alloc->test, "Suite.Test");
  EXPECT_EQ(p.options.break_on_alloc->number, 7u);
  EXPECT_EQ(p.options.break_on_alloc->run, 0);
  EXPECT_FALSE(parse({}).options.break_on_alloc.has_value());
}

TEST(Options, BadBreakOnAllocIsAnError) {
  const std::string hint = "; expected TEST:N or TEST:N@RUN, e.g. MEMX_BREAK_ON_ALLOC='Suite.Test:12@3'";
  const std::pair<const char*, const char*> cases[] = {
      {"Suite.Test", "no ':' before the allocation number"},
      {":12", "no test name before ':'"},
      {"Suite.Test:", "the allocation number \"\" is not a whole number from 1"},
      {"Suite.Test:0", "the allocation number \"0\" is not a whole number from 1"},
      {"Suite.Test:-3", "the allocation number \"-3\" is not a whole number from 1"},
      {"Suite.Test:12@", "no run number after '@'"},
      {"Suite.Test:12@x", "the run \"x\" is not a whole number from 1 to 1000000"},
      {"Suite.Test:99999999999999999999", "the allocation number \"99999999999999999999\" is not a whole number from 1"},
  };
  for (const auto& [value, why] : cases) {
    const memx::OptionsParse p = parse({}, {{"MEMX_BREAK_ON_ALLOC", value}});
    ASSERT_EQ(p.errors.size(), 1u) << value;
    EXPECT_EQ(p.errors[0], std::string("memx: MEMX_BREAK_ON_ALLOC=\"") + value + "\": " + why + hint);
    EXPECT_FALSE(p.options.break_on_alloc.has_value());
  }
}

TEST(Options, FlagsOverrideTheEnvironment) {
  const memx::OptionsParse p =
      parse({"--memx-report=flag.json", "--memx-budget=allocs=5", "--memx-fail-on-leak=0"},
            {{"MEMX_REPORT", "env.json"}, {"MEMX_BUDGET", "peak=1MiB"}, {"MEMX_FAIL_ON_LEAK", "1"}});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.options.report_pattern, "flag.json");
  EXPECT_EQ(p.options.budget.allocs, 5);
  EXPECT_FALSE(p.options.budget.peak.has_value());
  EXPECT_FALSE(p.options.fail_on_leak);
}

TEST(Options, FailOnLeakWithoutValueMeansOn) {
  EXPECT_TRUE(parse({"--memx-fail-on-leak"}).options.fail_on_leak);
}

TEST(Options, BadValuesNameTheFlagAndTheToken) {
  const memx::OptionsParse p =
      parse({"--memx-budget=peak=4XB", "--memx-fail-on-leak=perhaps", "--memx-report="});
  ASSERT_EQ(p.errors.size(), 3u);
  EXPECT_NE(p.errors[0].find("--memx-budget=peak=4XB"), std::string::npos) << p.errors[0];
  EXPECT_NE(p.errors[0].find("XB"), std::string::npos) << p.errors[0];
  EXPECT_NE(p.errors[1].find("--memx-fail-on-leak=perhaps"), std::string::npos) << p.errors[1];
  EXPECT_NE(p.errors[2].find("--memx-report="), std::string::npos) << p.errors[2];
}

TEST(Options, BadEnvironmentValuesOfVerdictSettingsAreErrors) {
  // Each would run without the check it asks for and pass: an error, naming the variable.
  const memx::OptionsParse p = parse({}, {{"MEMX_BUDGET", "peek=1KiB"},
                                          {"MEMX_FAIL_ON_LEAK", "ture"},
                                          {"MEMX_REPORT", ""},
                                          {"MEMX_COLOR", "purple"}});
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0],
            "memx: MEMX_BUDGET=\"peek=1KiB\": memx budget \"peek=1KiB\": unknown key \"peek\" in "
            "\"peek=1KiB\" (use peak, net, blocks, allocs, rss, leak, fds, threads, warn)");
  EXPECT_EQ(p.errors[1],
            "memx: MEMX_FAIL_ON_LEAK=\"ture\": expected 1/0, true/false, yes/no or on/off, not "
            "\"ture\"");
  // A setting of the output only keeps its default, with a warning.
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("MEMX_COLOR=\"purple\""), std::string::npos) << p.warnings[0];
  EXPECT_NE(p.warnings[0].find("the default is used"), std::string::npos) << p.warnings[0];
  EXPECT_FALSE(p.options.color.has_value());
}

TEST(Options, ControlsFromFlagsAndEnvironment) {
  const std::string supp = std::string(::testing::TempDir()) + "memx_options_test.supp";
  std::ofstream(supp) << "# comment\n\nleak:libfontconfig*\n  test:Legacy.*  \n";
  memx::OptionsParse p = parse({"--memx-warn-only", "--memx-threads=current", "--memx-suppressions=" + supp});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_TRUE(p.options.warn_only);
  EXPECT_EQ(p.options.threads, memx::Threads::current);
  EXPECT_EQ(p.options.suppressions_path, supp);
  ASSERT_EQ(p.options.suppressions.size(), 2u);
  EXPECT_EQ(p.options.suppressions[1].text(), "test:Legacy.*");
  EXPECT_EQ(p.options.suppressions[1].line, 4);
  p = parse({"--memx-threads=all", "--memx-warn-only=no"},
            {{"MEMX_WARN_ONLY", "1"}, {"MEMX_THREADS", "current"}, {"MEMX_SUPPRESSIONS", supp}});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_FALSE(p.options.warn_only);
  EXPECT_EQ(p.options.threads, memx::Threads::all);
  EXPECT_EQ(p.options.suppressions.size(), 2u);
}

TEST(Options, BadControlsAreErrorsNamingTheInput) {
  const std::string bad = std::string(::testing::TempDir()) + "memx_options_bad.supp";
  std::ofstream(bad) << "leak:a\nfun:b\n";
  const memx::OptionsParse p =
      parse({"--memx-threads=main", "--memx-suppressions=/nonexistent/x.supp", "--memx-warn-only=perhaps"},
            {{"MEMX_THREADS", "both"}, {"MEMX_SUPPRESSIONS", bad.c_str()}});
  ASSERT_EQ(p.errors.size(), 5u);
  EXPECT_EQ(p.errors[0], "memx: MEMX_THREADS=\"both\": expected current (the test's own thread) or "
                         "all (every thread), not \"both\"");
  EXPECT_EQ(p.errors[1], "memx: MEMX_SUPPRESSIONS=\"" + bad + "\": " + bad +
                             ":2: unknown line \"fun:b\" (expected leak:PATTERN or test:PATTERN; "
                             "'#' starts a comment)");
  EXPECT_NE(p.errors[2].find("--memx-threads=main"), std::string::npos);
  EXPECT_EQ(p.errors[3], "memx: --memx-suppressions=/nonexistent/x.supp: /nonexistent/x.supp: cannot "
                         "read the suppressions file: No such file or directory");
  EXPECT_NE(p.errors[4].find("--memx-warn-only=perhaps"), std::string::npos);
  EXPECT_EQ(parse({"--memx-suppressions="}).errors.size(), 1u);
}

TEST(Options, ReportOptionalFromFlagAndEnvironmentAndBadValuesAreErrors) {
  EXPECT_FALSE(parse({}).options.report_optional);
  EXPECT_TRUE(parse({"--memx-report-optional"}).options.report_optional);
  EXPECT_TRUE(parse({}, {{"MEMX_REPORT_OPTIONAL", "yes"}}).options.report_optional);
  EXPECT_FALSE(parse({"--memx-report-optional=0"}, {{"MEMX_REPORT_OPTIONAL", "1"}}).options.report_optional);
  memx::OptionsParse p = parse({"--memx-report-optional=sometimes"}, {{"MEMX_REPORT_OPTIONAL", "maybe"}});
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0], "memx: MEMX_REPORT_OPTIONAL=\"maybe\": expected 1/0, true/false, yes/no or "
                         "on/off, not \"maybe\"");
  EXPECT_EQ(p.errors[1], "memx: --memx-report-optional=sometimes: expected 1/0, true/false, yes/no "
                         "or on/off, not \"sometimes\"");
}

TEST(Options, UnderBazelTheReportGoesToTheUndeclaredOutputs) {
  memx::OptionsParse p = parse({}, {{"TEST_UNDECLARED_OUTPUTS_DIR", "/b/out"}});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.options.report_pattern, "/b/out/memx-%p.json");
  EXPECT_TRUE(p.options.report_from_bazel);
  p = parse({}, {{"TEST_UNDECLARED_OUTPUTS_DIR", "/b/50%/"}, {"TEST_SHARD_INDEX", "3"}});
  EXPECT_EQ(p.options.report_pattern, "/b/50%%/memx-shard3-%p.json");  // the dir's '%' kept
  EXPECT_EQ(memx::expand_report_path(p.options.report_pattern, 42), "/b/50%/memx-shard3-42.json");
  p = parse({}, {{"TEST_UNDECLARED_OUTPUTS_DIR", "/b/out"}, {"TEST_SHARD_INDEX", "x"}});
  EXPECT_EQ(p.options.report_pattern, "/b/out/memx-%p.json");
  // A report asked for wins: the flag, or MEMX_REPORT.
  p = parse({"--memx-report=mine.json"}, {{"TEST_UNDECLARED_OUTPUTS_DIR", "/b/out"}});
  EXPECT_EQ(p.options.report_pattern, "mine.json");
  EXPECT_FALSE(p.options.report_from_bazel);
  p = parse({}, {{"TEST_UNDECLARED_OUTPUTS_DIR", "/b/out"}, {"MEMX_REPORT", "env/"}});
  EXPECT_EQ(p.options.report_pattern, "env/");
  EXPECT_EQ(parse({}).options.report_pattern, "");  // outside Bazel: no report unless asked
}

TEST(Options, BudgetWithSpacesAroundEqualsAndCommas) {
  const memx::OptionsParse p = parse({"--memx-budget=peak = 4MiB , net = 0"});
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.options.budget.peak, 4 << 20);
  EXPECT_EQ(p.options.budget.net, 0);
}

TEST(Options, UnknownMemxFlagsAreErrors) {
  const memx::OptionsParse p = parse({"--memx-budegt=peak=1KiB", "--memx-repeat=3"});
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].rfind("memx: unknown flag --memx-budegt (known: --memx-report=PATH", 0), 0u)
      << p.errors[0];
  EXPECT_NE(p.errors[1].find("unknown flag --memx-repeat"), std::string::npos) << p.errors[1];
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Options, HasFlag) {
  const std::vector<std::string> args = {"bin", "--gtest_internal_run_death_test=a|1|0|4", "--x"};
  EXPECT_TRUE(memx::has_flag(args, "--gtest_internal_run_death_test"));
  EXPECT_TRUE(memx::has_flag(args, "--x"));
  EXPECT_FALSE(memx::has_flag(args, "--gtest_internal"));
  EXPECT_FALSE(memx::has_flag(args, "--y"));
}

TEST(Options, ProcessArgumentsAreReadable) {
  const std::vector<std::string> args = memx::read_process_arguments();
  ASSERT_FALSE(args.empty());
  EXPECT_NE(args.front().find("memx_session_tests"), std::string::npos) << args.front();
}

/// A temporary directory for reports, removed at the end.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/memx-session-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

memx::SessionConfig config(memx::PluginOptions o) {
  memx::SessionConfig c;
  c.options = std::move(o);
  c.framework = "test";
  c.binary = "memx_session_tests";
  return c;
}

memx::TestId id(const char* name, const char* group = "") { return memx::TestId{name, group, "f.cpp", 7}; }

std::vector<void*>* g_kept = new std::vector<void*>();

/// "descriptor N: " as the messages name a descriptor.
std::string fmt_descriptor(int fd) { return "descriptor " + std::to_string(fd) + ": pipe:["; }

TEST(SessionBudgets, ThreeLevelsCombineKeyByKey) {
  static const bool registered = memx::register_group_budget("Grp", "net=1KiB, allocs=1", __FILE__, __LINE__);
  ASSERT_TRUE(registered);
  memx::PluginOptions o;
  o.budget_text = "peak=1MiB, allocs=1000";
  o.budget = *memx::parse_budget(o.budget_text).budget;
  memx::Session s(config(o));
  s.begin_run(1);
  s.begin_iteration(0);
  s.begin_test(id("Grp.Test", "Grp"));
  MEMX_BUDGET("allocs=3");  // overrides the group's allocs=1
  for (int i = 0; i < 5; ++i) {
    int* volatile p = new int(i);  // volatile: the pair must not be optimised away
    delete p;
  }
  const memx::TestOutcome out = s.end_test(memx::TestStatus::passed, {});
  EXPECT_EQ(out.run.allocs, 5u);
  ASSERT_EQ(out.failures.size(), 1u);
  EXPECT_NE(out.failures[0].find("memx: Grp.Test is over its memory budget (global \"peak=1MiB, "
                                 "allocs=1000\"; suite \"net=1KiB, allocs=1\"; test \"allocs=3\"):"),
            std::string::npos)
      << out.failures[0];
  EXPECT_NE(out.failures[0].find("allocs 5 exceeds budget 3"), std::string::npos) << out.failures[0];
  const memx::TestRecord& t = s.report().tests.at(0);
  ASSERT_TRUE(t.budget.has_value());
  EXPECT_EQ(t.budget->peak, 1 << 20);
  EXPECT_EQ(t.budget->net, 1024);
  EXPECT_EQ(t.budget->allocs, 3);
  EXPECT_EQ(t.status, memx::TestStatus::failed);
}

TEST(SessionBudgets, MalformedBudgetFailsNamingTheToken) {
  memx::Session s(config({}));
  s.begin_run(1);
  s.begin_test(id("T.Bad"));
  MEMX_BUDGET("peak=12 parsecs");
  const memx::TestOutcome out = s.end_test(memx::TestStatus::passed, {});
  ASSERT_EQ(out.failures.size(), 1u);
  EXPECT_NE(out.failures[0].find("malformed MEMX_BUDGET at"), std::string::npos) << out.failures[0];
  EXPECT_NE(out.failures[0].find("parsecs"), std::string::npos) << out.failures[0];
}

TEST(SessionBudgets, FrameworkShareIsTakenOff) {
  memx::Session s(config({}));
  s.begin_run(1);
  s.begin_test(id("T.Share"));
  void* p = ::operator new(100);
  const auto u = static_cast<std::int64_t>(memx::usable_size(p));
  memx::FrameworkShare share;
  share.bytes = u;
  share.blocks = 1;
  share.allocs = 1;
  const memx::TestOutcome out = s.end_test(memx::TestStatus::passed, share);
  ::operator delete(p);
  EXPECT_EQ(out.run.net_bytes, 0);
  EXPECT_EQ(out.run.net_blocks, 0);
  EXPECT_EQ(out.run.allocs, 0u);
}

// Memory over time: the sampler's readings of a test's run with the highest peak, bounded,
// relative to its start; a run shorter than one sampling interval keeps no points; the
// whole run's timeline at its end.
TEST(SessionTimeline, TheRunWithTheHighestPeakKeepsTheSamplersReadings) {
  using namespace std::chrono_literals;
  memx::Session s(config({}));
  s.begin_run(3);
  std::vector<std::int64_t> held;  // per run: the bytes it held while it slept
  for (int it = 0; it < 3; ++it) {
    s.begin_iteration(it);
    s.begin_test(id("T.Slow"));
    const std::size_t n = it == 1 ? (2u << 20) : (1u << 20);  // run 2 goes highest
    char* volatile block = new char[n];
    std::memset(block, 1, n);
    std::this_thread::sleep_for(memx::sample_interval() * 4);  // several readings
    delete[] block;
    s.end_test(memx::TestStatus::passed, {});
    s.begin_test(id("T.Quick"));
    delete[] new char[16];
    s.end_test(memx::TestStatus::passed, {});
  }
  s.end_run();
  const memx::TestRecord& slow = s.report().tests.at(0);
  EXPECT_EQ(slow.timeline.run, 2);
  const std::vector<memx::TimelinePoint>& p = slow.timeline.points;
  ASSERT_GE(p.size(), 3u);
  EXPECT_LE(p.size(), memx::kTestTimelinePoints);
  EXPECT_EQ(p.front(), (memx::TimelinePoint{0, 0, 0}));
  std::int64_t highest = 0;
  for (std::size_t i = 1; i < p.size(); ++i) {
    EXPECT_LE(p[i - 1].ms, p[i].ms);
    highest = std::max(highest, p[i].heap_bytes);
  }
  EXPECT_GE(highest, std::int64_t{2} << 20) << "a reading while the run held its 2 MiB";
  EXPECT_LE(p.back().heap_bytes, std::int64_t{1} << 10) << "freed at its end";
  EXPECT_NEAR(p.back().ms, slow.runs.at(1).duration_ms, 0.01);
  const memx::TestRecord& quick = s.report().tests.at(1);
  EXPECT_EQ(quick.timeline.run, 1) << "equal peaks: the first run";
  EXPECT_TRUE(quick.timeline.points.empty()) << "shorter than one sampling interval";
  // Its run 1 ran between the slow test's runs 1 and 2.
  EXPECT_LT(quick.timeline.start_ms, slow.timeline.start_ms);
  EXPECT_GT(quick.timeline.start_ms, slow.runs.at(0).duration_ms);
  const std::vector<memx::TimelinePoint>& run = s.report().timeline;
  ASSERT_GE(run.size(), 3u);
  EXPECT_LE(run.size(), memx::kRunTimelinePoints);
  EXPECT_GT(run.back().rss_bytes, 0);
  std::int64_t run_highest = 0;
  for (const memx::TimelinePoint& q : run) run_highest = std::max(run_highest, q.heap_bytes);
  EXPECT_GE(run_highest, std::int64_t{2} << 20);
}

TEST(SessionLeaks, LeakFailsInTheLastRepetitionOnly) {
  memx::PluginOptions o;
  o.fail_on_leak = true;
  memx::Session s(config(o));
  g_kept->reserve(g_kept->size() + 16);
  s.begin_run(4);
  for (int it = 0; it < 4; ++it) {
    s.begin_iteration(it);
    s.begin_test(id("T.Leaky"));
    g_kept->push_back(new char[16]);
    const memx::TestOutcome leaky = s.end_test(memx::TestStatus::passed, {});
    s.begin_test(id("T.Clean"));
    delete[] new char[16];
    const memx::TestOutcome clean = s.end_test(memx::TestStatus::passed, {});
    s.end_iteration(it);
    EXPECT_TRUE(clean.failures.empty());
    if (it < 3) {
      EXPECT_TRUE(leaky.failures.empty()) << "iteration " << it;
    } else {
      ASSERT_EQ(leaky.failures.size(), 1u);
      EXPECT_NE(leaky.failures[0].find("memx: T.Leaky leaks 16 B in 1 block per repetition"),
                std::string::npos)
          << leaky.failures[0];
    }
  }
  s.end_run();
  EXPECT_EQ(s.report().tests.at(0).leak.verdict, memx::Verdict::leak);
  EXPECT_EQ(s.report().tests.at(1).leak.verdict, memx::Verdict::clean);
  const std::string summary = s.summary(false);
  EXPECT_NE(summary.find("2 tests measured: 0 over budget, 1 leaking"), std::string::npos) << summary;
  EXPECT_NE(summary.find("leak: T.Leaky: 16 B in 1 block per repetition (medium confidence)"),
            std::string::npos)
      << summary;
}

TEST(Options, ResourcesFromTheEnvironment) {
  EXPECT_FALSE(parse({}).options.resources.has_value());
  EXPECT_EQ(parse({}, {{"MEMX_RESOURCES", "1"}}).options.resources, true);
  EXPECT_EQ(parse({}, {{"MEMX_RESOURCES", "off"}}).options.resources, false);
  const memx::OptionsParse bad = parse({}, {{"MEMX_RESOURCES", "maybe"}});
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0],
            "memx: MEMX_RESOURCES=\"maybe\": expected 1/0, true/false, yes/no or on/off, not \"maybe\"");
  EXPECT_FALSE(bad.options.resources.has_value());
}

TEST(SessionResources, APipeLeftInTheLastRepetitionFailsOneLeftOnceDoesNot) {
  memx::PluginOptions o;
  o.fail_on_leak = true;
  memx::Session s(config(o));
  s.begin_run(3);
  int once[2] = {-1, -1};  // T.Once: a singleton's pipe, opened by its first run
  int last[2] = {-1, -1};  // T.Last: left open by its last run
  for (int it = 0; it < 3; ++it) {
    s.begin_iteration(it);
    s.begin_test(id("T.Once"));
    if (it == 0) {
      ASSERT_EQ(::pipe(once), 0);
    }
    const memx::TestOutcome first = s.end_test(memx::TestStatus::passed, {});
    EXPECT_TRUE(first.failures.empty()) << "iteration " << it << ": " << first.failures.front();
    EXPECT_EQ(first.run.fds, it == 0 ? 2 : 0);
    s.begin_test(id("T.Last"));
    if (it == 2) {
      ASSERT_EQ(::pipe(last), 0);
    }
    const memx::TestOutcome out = s.end_test(memx::TestStatus::passed, {});
    s.end_iteration(it);
    if (it < 2) {
      EXPECT_TRUE(out.failures.empty()) << "iteration " << it << ": " << out.failures.front();
    } else {
      EXPECT_EQ(out.run.fds, 2);
      ASSERT_EQ(out.failures.size(), 1u);
      EXPECT_NE(out.failures[0].find("memx: T.Last leaves 2 descriptors behind"), std::string::npos)
          << out.failures[0];
      EXPECT_NE(out.failures[0].find(fmt_descriptor(last[0])), std::string::npos) << out.failures[0];
    }
  }
  s.end_run();
  const memx::TestRecord& t = s.report().tests.at(0);
  EXPECT_EQ(t.runs.at(0).fds, 2);
  EXPECT_EQ(t.resource_leaks.run, 1);
  ASSERT_EQ(t.resource_leaks.fds.size(), 2u);
  EXPECT_EQ(t.resource_leaks.fds[0].target.rfind("pipe:[", 0), 0u);
  EXPECT_NE(s.summary(false).find("descriptors or threads left: T.Once: 2 descriptors (run 1): descriptor "),
            std::string::npos)
      << s.summary(false);
  for (int fd : {once[0], once[1], last[0], last[1]}) ::close(fd);
}

TEST(SessionResources, NotListedUnlessAskedFor) {
  memx::Session s(config(memx::PluginOptions{}));
  s.begin_run(1);
  s.begin_test(id("T.Pipe"));
  int kept[2];
  ASSERT_EQ(::pipe(kept), 0);
  const memx::TestOutcome out = s.end_test(memx::TestStatus::passed, {});
  EXPECT_EQ(out.run.fds, 0);
  EXPECT_TRUE(out.failures.empty());
  // A test's own budget with fds=N starts the listing where it is declared.
  s.begin_test(id("T.Budget"));
  memx::declare_budget("fds=0", "f.cpp", 9);
  int more[2];
  ASSERT_EQ(::pipe(more), 0);
  const memx::TestOutcome budget = s.end_test(memx::TestStatus::passed, {});
  EXPECT_EQ(budget.run.fds, 2);
  ASSERT_EQ(budget.failures.size(), 1u);
  EXPECT_NE(budget.failures[0].find("leaves 2 descriptors open, its budget allows 0 (fds=0)"),
            std::string::npos)
      << budget.failures[0];
  s.end_run();
  for (int fd : {kept[0], kept[1], more[0], more[1]}) ::close(fd);
}

TEST(SessionLeaks, JudgedAloneTheFailingVerdictIsTheReportsOne) {
  // Each test's repetitions in a row (Catch2's fallback when a run's list cannot be
  // repeated): no whole iterations. What a run keeps is released before the next run (as
  // Catch2 drops a generator), so the heap after each run does not grow, the runs do. The
  // end-of-run analysis judges the test on its runs alone: the last repetition must too.
  memx::PluginOptions o;
  o.fail_on_leak = true;
  memx::Session s(config(o));
  s.judge_tests_alone();
  s.begin_run(5);
  std::vector<memx::TestOutcome> outs;
  outs.reserve(5);
  for (int it = 0; it < 5; ++it) {
    s.begin_iteration(it);
    s.begin_test(id("T.Kept"));  // short: a heap name is freed in the next begin_test
    char* volatile kept = new char[64];
    outs.push_back(s.end_test(memx::TestStatus::passed, {}));
    delete[] kept;
  }
  s.end_run();
  EXPECT_EQ(s.report().tests.at(0).leak.verdict, memx::Verdict::leak);
  for (int it = 0; it < 4; ++it) EXPECT_TRUE(outs[it].failures.empty()) << "iteration " << it;
  ASSERT_EQ(outs[4].failures.size(), 1u);
  EXPECT_NE(outs[4].failures[0].find("memx: T.Kept leaks 64 B in 1 block"),
            std::string::npos)
      << outs[4].failures[0];
}

TEST(SessionReport, WrittenAsTestsFinishAndCompletedAtTheEnd) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = dir.path.string() + "/";
  memx::Session s(config(o));
  const std::string expected = (dir.path / ("memx-" + std::to_string(::getpid()) + ".json")).string();
  EXPECT_EQ(s.report_path(), expected);
  s.begin_run(1);
  s.begin_iteration(0);
  {
    const memx::ReportRead r = memx::read_report_file(expected);
    ASSERT_TRUE(r.report.has_value()) << r.error;
    EXPECT_FALSE(r.report->complete);
    EXPECT_TRUE(r.report->tests.empty());
  }
  s.begin_test(id("T.One"));
  s.end_test(memx::TestStatus::passed, {});
  {
    const memx::ReportRead r = memx::read_report_file(expected);
    ASSERT_TRUE(r.report.has_value()) << r.error;
    EXPECT_FALSE(r.report->complete);
    ASSERT_EQ(r.report->tests.size(), 1u);  // the first test is written at once
    EXPECT_EQ(r.report->tests[0].name, "T.One");
  }
  s.end_iteration(0);
  s.end_run();
  const memx::ReportRead r = memx::read_report_file(expected);
  ASSERT_TRUE(r.report.has_value()) << r.error;
  EXPECT_TRUE(r.report->complete);
  EXPECT_EQ(r.report->framework, "test");
  EXPECT_EQ(r.report->pid, ::getpid());
  EXPECT_EQ(r.report->iteration_end_live_bytes.size(), 1u);
}

namespace {

bool thread_named(const std::string& name) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(e.path() / "comm");
    std::string comm;
    std::getline(in, comm);
    if (comm == name) return true;
  }
  return false;
}

/// A report's text without the spaces a prepared report (one written as its tests finish)
/// keeps after the "tests" array's bracket: JSON whitespace, which to_json has none of.
std::string without_padding(std::string text) {
  const std::string open = "\"tests\": [";
  const std::size_t at = text.find(open);
  if (at == std::string::npos) return text;
  const std::size_t from = at + open.size();
  const std::size_t to = text.find_first_not_of(' ', from);
  text.erase(from, (to == std::string::npos ? text.size() : to) - from);
  return text;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Runs `tests` trivial tests named Suite.TestN into a report at `path`, calling
/// `after(i)` after each; the session is left after end_run.
template <typename After>
void run_trivial(memx::Session& s, int tests, After after) {
  s.begin_run(1, static_cast<std::size_t>(tests));
  s.begin_iteration(0);
  for (int i = 0; i < tests; ++i) {
    const std::string name = "Suite.Test" + std::to_string(i);
    s.begin_test(memx::TestId{name, "Suite", "f.cpp", i});
    s.end_test(memx::TestStatus::passed, {});
    after(i);
  }
  s.end_iteration(0);
  s.end_run();
}

}  // namespace

// A large run's report is written as its tests finish, into a file that has no name until
// the end: during the run the directory holds only the report as it stands; at the end,
// only the report, whose text is to_json's with spaces after the "tests" bracket (room
// kept for the members before it), read as the same report.
TEST(SessionReport, ALargeRunsReportIsPreparedAsItsTestsFinish) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = (dir.path / "r.json").string();
  memx::Session s(config(o));
  bool seen_mid_run = false;
  run_trivial(s, 9000, [&](int i) {
    if (i != 7000) return;
    seen_mid_run = true;
    EXPECT_EQ(names_in(dir.path), std::vector<std::string>{"r.json"});
  });
  EXPECT_TRUE(seen_mid_run);
  EXPECT_EQ(names_in(dir.path), std::vector<std::string>{"r.json"});
  const std::string text = read_file(dir.path / "r.json");
  const std::size_t bracket = text.find("\"tests\": [");
  ASSERT_NE(bracket, std::string::npos);
  EXPECT_LE(bracket, memx::detail::kPreparedHeadRoom);
  // Prepared: the first test's element starts right after the room kept for the head.
  EXPECT_EQ(text.find("\"Suite.Test0\""), text.find('{', memx::detail::kPreparedHeadRoom) + 8)
      << text.substr(memx::detail::kPreparedHeadRoom, 80);
  EXPECT_EQ(text[memx::detail::kPreparedHeadRoom - 1], ' ');
  memx::Uncounted guard;
  EXPECT_TRUE(without_padding(text) == memx::to_json(s.report()));
  const memx::ReportRead r = memx::read_report_file((dir.path / "r.json").string());
  ASSERT_TRUE(r.report.has_value()) << r.error;
  EXPECT_TRUE(r.report->complete);
  ASSERT_EQ(r.report->tests.size(), 9000u);
  EXPECT_EQ(r.report->tests[8999].name, "Suite.Test8999");
}

// A finished test found again (a second iteration, as --gtest_repeat=2 runs) changes a
// record already written ahead: the prepared text is not used, and the report is
// to_json's exactly.
TEST(SessionReport, ARecordChangedAfterItWasWrittenAheadIsWrittenAgain) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = (dir.path / "r.json").string();
  memx::Session s(config(o));
  s.begin_run(1, 6000);
  for (int iteration = 0; iteration < 2; ++iteration) {
    s.begin_iteration(iteration);
    for (int i = 0; i < (iteration == 0 ? 6000 : 20); ++i) {
      const std::string name = "Suite.Test" + std::to_string(i);
      s.begin_test(memx::TestId{name, "Suite", "f.cpp", i});
      s.end_test(iteration == 1 && i == 10 ? memx::TestStatus::failed : memx::TestStatus::passed, {});
    }
    s.end_iteration(iteration);
  }
  s.end_run();
  const std::string text = read_file(dir.path / "r.json");
  memx::Uncounted guard;
  EXPECT_TRUE(text == memx::to_json(s.report()));
  EXPECT_EQ(s.report().tests.size(), 6000u);
  EXPECT_EQ(s.report().tests[10].status, memx::TestStatus::failed);
  EXPECT_EQ(s.report().tests[10].runs.size(), 2u);
  EXPECT_EQ(names_in(dir.path), std::vector<std::string>{"r.json"});
}

// Members before the tests longer than the room kept for them: the report is written the
// ordinary way, whole.
TEST(SessionReport, AHeadTooLongForItsRoomIsWrittenTheOrdinaryWay) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = (dir.path / "r.json").string();
  memx::SessionConfig c = config(o);
  c.binary = "/" + std::string(memx::detail::kPreparedHeadRoom + 100, 'b');
  memx::Session s(std::move(c));
  run_trivial(s, 5000, [](int) {});
  const std::string text = read_file(dir.path / "r.json");
  memx::Uncounted guard;
  EXPECT_TRUE(text == memx::to_json(s.report()));
  EXPECT_EQ(names_in(dir.path), std::vector<std::string>{"r.json"});
}

// A child forked in the middle of a large run (a death test) neither waits for the report
// thread, which is its parent's, nor writes; the parent's report is whole.
TEST(SessionReport, AForkedChildOfAPreparedRunNeitherWaitsNorWrites) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = (dir.path / "r.json").string();
  memx::Session s(config(o));
  run_trivial(s, 7000, [&](int i) {
    if (i != 4200) return;
    const pid_t child = ::fork();
    if (child == 0) {
      s.begin_test(memx::TestId{"Suite.Child", "Suite", "f.cpp", 1});
      s.end_test(memx::TestStatus::passed, {});
      s.write_report(nullptr);
      std::_Exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  });
  const memx::ReportRead r = memx::read_report_file((dir.path / "r.json").string());
  ASSERT_TRUE(r.report.has_value()) << r.error;
  ASSERT_EQ(r.report->tests.size(), 7000u);
  memx::Uncounted guard;
  EXPECT_TRUE(without_padding(read_file(dir.path / "r.json")) == memx::to_json(s.report()));
}

// A report written to a file: the report thread runs from before the first test, and a large
// report, whose tests it renders half of, is the text to_json gives for the session's report.
TEST(SessionReport, ALargeReportWrittenWithTheReportThreadIsTheOneThreadsText) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = (dir.path / "r.json").string();
  memx::Session s(config(o));
  s.begin_run(1, 5000);
  EXPECT_TRUE(thread_named("memx-report"));
  s.begin_iteration(0);
  // Some tests leave a block (a suspect in one run), some break their budget: the text
  // holds their verdicts; a write in the middle of the run is the text of the report as it
  // stands then.
  static char* left[5000];
  auto read = [&] {
    std::ifstream in(o.report_pattern, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  for (int i = 0; i < 5000; ++i) {
    const std::string name = "Suite.Test" + std::to_string(i) + (i % 7 == 0 ? "\"quoted\"" : "");
    s.begin_test(memx::TestId{name, "Suite", "f.cpp", i});
    if (i % 13 == 0) s.declare_test_budget("net=16", __FILE__, __LINE__);
    if (i % 9 == 0) left[i] = new char[24];
    s.end_test(i % 11 == 0 ? memx::TestStatus::failed : memx::TestStatus::passed, {});
    if (i == 4500) {
      ASSERT_TRUE(s.write_report(nullptr));
      const std::string text = read();
      memx::Uncounted guard;
      EXPECT_TRUE(text == memx::to_json(s.report()));
    }
  }
  s.end_iteration(0);
  s.end_run();
  for (char* p : left) delete[] p;
  const std::string text = without_padding(read());
  memx::Uncounted guard;  // the expected text is the test's own bookkeeping
  const std::string expected = memx::to_json(s.report());
  ASSERT_EQ(text.size(), expected.size());
  EXPECT_TRUE(text == expected);
  const memx::TestRecord& broke = s.report().tests[117];  // 117 = 9 * 13
  ASSERT_EQ(broke.violations.size(), 1u);
  EXPECT_EQ(broke.violations[0].key, "net");
  EXPECT_EQ(broke.leak.verdict, memx::Verdict::suspect);
  EXPECT_EQ(s.report().tests[118].leak.verdict, memx::Verdict::clean);
}

TEST(SessionReport, UnwritableReportRemovesTheEarlierRunsAndFails) {
  // The temporary file beside a 250-character name has a name too long for the file
  // system: this run's report cannot be written, an earlier run's stands there.
  TempDir dir;
  const std::filesystem::path stale = dir.path / std::string(250, 'r');
  { std::ofstream(stale) << "{\"format\": \"memx-report\"}\n"; }
  memx::PluginOptions o;
  o.report_pattern = stale.string();
  memx::Session s(config(o));
  EXPECT_FALSE(s.report_failed());
  s.begin_run(1);
  EXPECT_TRUE(s.report_failed());
  EXPECT_FALSE(std::filesystem::exists(stale));  // never read as this run's report
  s.begin_test(id("T.One"));
  s.end_test(memx::TestStatus::passed, {});
  s.end_run();
  EXPECT_TRUE(s.report_failed());
  std::string error;
  EXPECT_FALSE(s.write_report(&error));
  EXPECT_NE(error.find("creating a temporary file failed: File name too long"), std::string::npos)
      << error;
}

TEST(SessionReport, UnwritableOptionalReportIsAWarningNotAFailure) {
  TempDir dir;
  const std::filesystem::path stale = dir.path / std::string(250, 'r');
  memx::PluginOptions o;
  o.report_pattern = stale.string();
  o.report_optional = true;
  memx::Session s(config(o));
  s.begin_run(1);
  s.begin_test(id("T.One"));
  s.end_test(memx::TestStatus::passed, {});
  s.end_run();
  EXPECT_FALSE(s.report_failed());  // the run's exit code is the tests' own
  std::string error;
  EXPECT_FALSE(s.write_report(&error));  // but it was not written, and says so
  EXPECT_EQ(error.rfind("memx: warning: cannot write report ", 0), 0u) << error;
  EXPECT_NE(error.find("(--memx-report-optional: the run goes on)"), std::string::npos) << error;
}

TEST(SessionReport, WrittenReportIsNotAFailure) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = (dir.path / "r.json").string();
  memx::Session s(config(o));
  s.begin_run(1);
  s.end_run();
  EXPECT_FALSE(s.report_failed());
}

TEST(SessionReport, ForkedChildNeverWrites) {
  TempDir dir;
  memx::PluginOptions o;
  o.report_pattern = (dir.path / "r.json").string();
  memx::Session s(config(o));
  s.begin_run(1);
  s.begin_test(id("T.Parent"));
  s.end_test(memx::TestStatus::passed, {});
  s.end_run();
  const auto before = std::filesystem::last_write_time(dir.path / "r.json");
  const pid_t child = ::fork();
  if (child == 0) {
    // What a death test's child could do: finish a test and exit through atexit.
    s.begin_test(id("T.Child"));
    s.end_test(memx::TestStatus::passed, {});
    s.write_report(nullptr);
    std::exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(std::filesystem::last_write_time(dir.path / "r.json"), before);
  const memx::ReportRead r = memx::read_report_file((dir.path / "r.json").string());
  ASSERT_TRUE(r.report.has_value()) << r.error;
  ASSERT_EQ(r.report->tests.size(), 1u);
  EXPECT_EQ(r.report->tests[0].name, "T.Parent");
}

// A large run's records are made ahead on the report thread (their name, file, leak reason
// and runs' storage): each record still holds its own test's strings, whatever their
// length (short ones within the string itself, ones longer than the storage made ahead),
// from several files, over one and two repetitions.
TEST(SessionRecords, MadeAheadEachHoldsItsOwnTestsStrings) {
  for (const int repetitions : {1, 2}) {
    memx::PluginOptions o;
    memx::Session s(config(o));
    constexpr int kTests = 5000;  // spares are made for runs of 4096 tests or more
    s.begin_run(repetitions, kTests);
    EXPECT_TRUE(thread_named("memx-report"));
    auto name_of = [](int i) {
      if (i % 97 == 0) return "S.T" + std::to_string(i);  // short
      if (i % 101 == 0) return "Suite.VeryLong" + std::string(300, 'x') + std::to_string(i);
      return "Suite/Param.Test" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 40), 'n');
    };
    auto file_of = [](int i) {
      if (i % 500 == 499) return "/a/much/longer/path/to/another/source/file/than/the/others_" + std::to_string(i) + ".cpp";
      return std::string(i % 2 == 0 ? "tests/even.cpp" : "tests/odd_numbered_tests.cpp");
    };
    static char* left[kTests];
    for (int r = 0; r < repetitions; ++r) {
      s.begin_iteration(r);
      for (int i = 0; i < kTests; ++i) {
        s.begin_test(memx::TestId{name_of(i), "Suite", file_of(i), i + 1});
        if (i % 10 == 3 && r == 0) left[i] = new char[40];
        s.end_test(memx::TestStatus::passed, {});
      }
      s.end_iteration(r);
    }
    s.end_run();
    for (char* p : left) delete[] p;
    memx::Uncounted guard;
    const memx::Report& report = s.report();
    ASSERT_EQ(report.tests.size(), static_cast<std::size_t>(kTests));
    for (int i = 0; i < kTests; ++i) {
      const memx::TestRecord& t = report.tests[static_cast<std::size_t>(i)];
      ASSERT_EQ(t.name, name_of(i)) << i;
      ASSERT_EQ(t.file, file_of(i)) << i;
      ASSERT_EQ(t.line, i + 1);
      ASSERT_EQ(t.runs.size(), static_cast<std::size_t>(repetitions)) << i;
      if (repetitions == 1) {
        if (i % 10 == 3) {
          ASSERT_EQ(t.leak.verdict, memx::Verdict::suspect) << i << ": net " << t.runs[0].net_bytes;
          ASSERT_EQ(t.leak.reason.rfind("grew ", 0), 0u) << t.leak.reason;
        } else {
          ASSERT_EQ(t.leak.verdict, memx::Verdict::clean) << i;
          ASSERT_EQ(t.leak.reason, "no net growth in its only run") << i;
        }
      }
    }
    // The records as the analysis of the whole report judges them.
    memx::Report again = report;
    memx::analyze_report(again);
    EXPECT_TRUE(again == report);
  }
}

// The summary's highest peaks: the five highest, equal peaks in the run's order.
TEST(SessionSummary, HighestPeaksAreTheFiveHighestEqualOnesInRunOrder) {
  memx::Session s(config({}));
  s.begin_run(1);
  // Five tests at 30,000: the last one is not among the five highest.
  const std::size_t sizes[] = {1000, 30000, 20000, 30000, 500, 40000, 30000, 100, 30000, 30000};
  std::vector<std::int64_t> usable;
  usable.reserve(std::size(sizes));  // no growth inside a test
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    const std::string name = "T.P" + std::to_string(i);
    s.begin_test(memx::TestId{name, "T", "f.cpp", 1});
    if (i == 0) s.declare_test_budget("peak=1", __FILE__, __LINE__);  // the long summary
    char* volatile block = new char[sizes[i]];
    usable.push_back(static_cast<std::int64_t>(memx::usable_size(block)));
    delete[] block;
    s.end_test(memx::TestStatus::passed, {});
  }
  s.end_iteration(0);
  s.end_run();
  const std::string text = s.summary(false);
  auto peak = [&](std::size_t i) { return " T.P" + std::to_string(i) + " " + memx::format_bytes(usable[i]); };
  const std::string expected = "highest peaks:" + peak(5) + "," + peak(1) + "," + peak(3) + "," + peak(6) +
                               "," + peak(8) + "\n";
  EXPECT_NE(text.find(expected), std::string::npos) << text;
}

TEST(SessionSummary, OneLineWhenAllIsWell) {
  memx::Session s(config({}));
  s.begin_run(1);
  s.begin_test(id("T.Big"));
  char* volatile big = new char[100000];
  const auto usable = static_cast<std::int64_t>(memx::usable_size(big));
  delete[] big;
  s.end_test(memx::TestStatus::passed, {});
  s.end_iteration(0);
  s.end_run();
  const std::string text = s.summary(false);
  EXPECT_EQ(text, "[   memx   ] 1 test measured, none over budget, no leaks; highest peak " +
                      memx::format_bytes(usable) + " (T.Big)\n");
  const std::string colored = s.summary(true);
  EXPECT_EQ(colored.rfind("\033[0;32m[   memx   ] \033[m1 test measured", 0), 0u) << colored;
}

TEST(SessionSummary, ControlCharactersInNamesAreEscaped) {
  // A Catch2 TEST_CASE name can hold escape sequences and line breaks: printed raw, they
  // would drive the terminal (retitle it, hide lines, fake a result).
  const std::string name = "T.Evil\x1b]0;pwned\x07\n[  PASSED  ] \xc2\x9b" "2J";
  memx::PluginOptions o;
  o.budget_text = "allocs=0";
  o.budget.allocs = 0;
  memx::Session s(config(o));
  s.begin_run(1);
  s.begin_test(id(name.c_str()));
  char* volatile p = new char[64];
  delete[] p;
  const memx::TestOutcome out = s.end_test(memx::TestStatus::passed, {});
  s.end_iteration(0);
  s.end_run();
  const std::string escaped = "T.Evil\\x1b]0;pwned\\x07\\n[  PASSED  ] \\u009b2J";
  ASSERT_EQ(out.failures.size(), 1u);
  EXPECT_NE(out.failures[0].find("memx: " + escaped + " is over its memory budget"),
            std::string::npos)
      << out.failures[0];
  const std::string text = s.summary(false);
  EXPECT_NE(text.find("over budget: " + escaped + ": allocs"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << text;
  EXPECT_EQ(s.report().tests.at(0).name, name);  // the report keeps the name as it is
}

}  // namespace
