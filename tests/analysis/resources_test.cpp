// Descriptor and thread leaks in the analysis (issue 11, point 4): the budget keys fds and
// threads=N beside threads=current|all, their violations, the report's fields and the lines
// that name what a test left behind.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "budget_parse.hpp"
#include "memx/budget.hpp"
#include "memx/report.hpp"

namespace {

using memx_test::parse_error;
using memx_test::parse_ok;

TEST(ResourceBudget, FdsAndThreadsAreLimits) {
  const memx::Budget b = parse_ok("fds=0, threads=2");
  EXPECT_EQ(b.fds, 0);
  EXPECT_EQ(b.threads_left, 2);
  EXPECT_FALSE(b.threads.has_value());  // a number is a limit, not whose allocations count
  EXPECT_FALSE(b.empty());
  EXPECT_FALSE(parse_ok("fds=0").empty());
  EXPECT_FALSE(parse_ok("threads=0").empty());
}

TEST(ResourceBudget, ThreadsWordsStillSayWhoseAllocationsCount) {
  const memx::Budget words = parse_ok("threads=current");
  EXPECT_EQ(words.threads, memx::Threads::current);
  EXPECT_FALSE(words.threads_left.has_value());
  // One of each kind: attribution and a limit.
  const memx::Budget both = parse_ok("threads=current, threads=0");
  EXPECT_EQ(both.threads, memx::Threads::current);
  EXPECT_EQ(both.threads_left, 0);
  EXPECT_EQ(memx::to_string(both), "threads=0, threads=current");
  EXPECT_EQ(parse_ok(memx::to_string(both)), both);
}

TEST(ResourceBudget, CanonicalTextRoundTrips) {
  const memx::Budget b = parse_ok("threads=1 net=0 fds=3 warn");
  EXPECT_EQ(memx::to_string(b), "net=0, fds=3, threads=1, warn");
  EXPECT_EQ(parse_ok(memx::to_string(b)), b);
}

TEST(ResourceBudget, OverriddenByReplacesEachKind) {
  const memx::Budget global = parse_ok("fds=0, threads=0, threads=all");
  const memx::Budget test = parse_ok("threads=4");
  const memx::Budget b = global.overridden_by(test);
  EXPECT_EQ(b.fds, 0);
  EXPECT_EQ(b.threads_left, 4);
  EXPECT_EQ(b.threads, memx::Threads::all);
}

TEST(ResourceBudgetErrors, NameTheToken) {
  EXPECT_EQ(parse_error("fds=-1"),
            "memx budget \"fds=-1\": negative value \"-1\" in \"fds=-1\": a budget is a limit of 0 "
            "or more (net=0 allows no growth)");
  EXPECT_EQ(parse_error("threads=-1"),
            "memx budget \"threads=-1\": negative value \"-1\" in \"threads=-1\": a budget is a "
            "limit of 0 or more (net=0 allows no growth)");
  EXPECT_EQ(parse_error("fds=2KiB"),
            "memx budget \"fds=2KiB\": \"fds\" takes a plain whole number, not \"2KiB\" in \"fds=2KiB\"");
  EXPECT_EQ(parse_error("threads=1.5"),
            "memx budget \"threads=1.5\": \"threads\" takes a plain whole number, not \"1.5\" in "
            "\"threads=1.5\"");
  EXPECT_EQ(parse_error("threads=main"),
            "memx budget \"threads=main\": unknown threads value \"main\" in \"threads=main\" (use "
            "current or all, or a whole number: the threads the test may leave running)");
  EXPECT_NE(parse_error("threads=0 threads=1").find("duplicate key \"threads\" in \"threads=1\""),
            std::string::npos);
  EXPECT_NE(parse_error("fds=0 fds=1").find("duplicate key \"fds\""), std::string::npos);
  EXPECT_NE(parse_error("threads=").find("empty value in \"threads=\""), std::string::npos);
}

TEST(ResourceBudget, CheckedAfterTheMemoryKeys) {
  memx::Measurement m;
  m.net_bytes = 10;
  m.fds = 2;
  m.threads = 1;
  const auto v = memx::check_budget(parse_ok("threads=0, fds=1, net=0"), m);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], (memx::Violation{"net", 10, 0}));
  EXPECT_EQ(v[1], (memx::Violation{"fds", 2, 1}));
  EXPECT_EQ(v[2], (memx::Violation{"threads", 1, 0}));
  EXPECT_TRUE(memx::check_budget(parse_ok("fds=2, threads=1"), m).empty());
  // threads=current is no limit.
  EXPECT_TRUE(memx::check_budget(parse_ok("threads=current"), m).empty());
}

TEST(ResourceBudget, Describe) {
  EXPECT_EQ(memx::describe(memx::Violation{"fds", 2, 0}),
            "leaves 2 descriptors open, its budget allows 0 (fds=0)");
  EXPECT_EQ(memx::describe(memx::Violation{"fds", 1, 0}),
            "leaves 1 descriptor open, its budget allows 0 (fds=0)");
  EXPECT_EQ(memx::describe(memx::Violation{"threads", 1, 0}),
            "leaves 1 thread running, its budget allows 0 (threads=0)");
}

memx::TestRecord leaving_test() {
  memx::TestRecord t;
  t.name = "Files.LeftOpen";
  memx::RunRecord clean;
  memx::RunRecord left;
  left.fds = 2;
  left.threads = 1;
  t.runs = {clean, left};
  t.budget = parse_ok("fds=1, threads=current, threads=5");
  t.resource_leaks.run = 2;
  t.resource_leaks.fds = {{7, "/tmp/memx data.txt"}, {9, "socket:[4242]"}};
  t.resource_leaks.threads = {{31337, "sleeper"}};
  return t;
}

TEST(ResourceLeaks, LinesNameEachDescriptorAndThread) {
  const memx::TestRecord t = leaving_test();
  EXPECT_EQ(memx::resource_leak_lines(t.resource_leaks, t.runs[1], "  ", 8),
            "\n  descriptor 7: /tmp/memx data.txt\n  descriptor 9: socket:[4242]\n  thread 31337 \"sleeper\"");
  // Cut at `max`, the rest counted from the run's figures (which count beyond those named).
  memx::RunRecord more = t.runs[1];
  more.fds = 40;
  EXPECT_EQ(memx::resource_leak_lines(t.resource_leaks, more, "", 2),
            "\ndescriptor 7: /tmp/memx data.txt\ndescriptor 9: socket:[4242]\nand 39 more");
  EXPECT_EQ(memx::resource_leak_counts(2, 1), "2 descriptors and 1 thread");
  EXPECT_EQ(memx::resource_leak_counts(0, 3), "3 threads");
  EXPECT_EQ(memx::resource_leak_counts(1, 0), "1 descriptor");
  EXPECT_EQ(memx::resource_leak_counts(0, 0), "");
}

TEST(ResourceLeaks, ControlCharactersInATargetAreEscaped) {
  memx::ResourceLeakRecord r;
  r.run = 1;
  r.fds = {{3, "/tmp/a\nb"}};
  memx::RunRecord run;
  run.fds = 1;
  const std::string lines = memx::resource_leak_lines(r, run, "", 4);
  EXPECT_EQ(lines.find('\n', 1), std::string::npos) << lines;  // one line
}

memx::Report resources_report() {
  memx::Report r;
  r.framework = "googletest";
  r.binary = "/b/tests";
  r.complete = true;
  r.repetitions = 2;
  r.tests.push_back(leaving_test());
  return r;
}

TEST(ResourceLeaks, AnalysisChecksTheWorstRun) {
  memx::Report r = resources_report();
  memx::analyze_report(r);
  ASSERT_EQ(r.tests[0].violations.size(), 1u);
  EXPECT_EQ(r.tests[0].violations[0].key, "fds");
  EXPECT_EQ(r.tests[0].violations[0].measured, 2);
  EXPECT_EQ(r.tests[0].violations[0].message,
            "leaves 2 descriptors open, its budget allows 1 (fds=1)");
}

TEST(ResourceLeaks, ReportRoundTripsAndOmitsZeros) {
  memx::Report r = resources_report();
  memx::analyze_report(r);
  const std::string json = memx::to_json(r);
  EXPECT_NE(json.find("\"resource_leaks\""), std::string::npos);
  EXPECT_NE(json.find("\"threads_left\""), std::string::npos) << json;
  const memx::ReportRead read = memx::read_report(json, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
  // A run that left nothing writes no fds or threads: such reports read as before.
  memx::Report clean = r;
  clean.tests[0].runs[1] = memx::RunRecord{};
  clean.tests[0].resource_leaks = memx::ResourceLeakRecord{};
  clean.tests[0].budget.reset();
  clean.tests[0].violations.clear();
  const std::string clean_json = memx::to_json(clean);
  EXPECT_EQ(clean_json.find("\"fds\""), std::string::npos) << clean_json;
  EXPECT_EQ(clean_json.find("\"resource_leaks\""), std::string::npos);
}

TEST(ResourceLeaks, BadFieldsAreNamed) {
  memx::Report r = resources_report();
  std::string json = memx::to_json(r);
  const std::string run2 = "\"run\": 2";
  const std::size_t at = json.find(run2, json.find("\"resource_leaks\""));
  ASSERT_NE(at, std::string::npos);
  json.replace(at, run2.size(), "\"run\": 3");
  const memx::ReportRead read = memx::read_report(json, "r.json");
  ASSERT_FALSE(read.report.has_value());
  EXPECT_NE(read.error.find("resource_leaks.run: run 3 of a test with 2 runs"), std::string::npos)
      << read.error;
}

}  // namespace
