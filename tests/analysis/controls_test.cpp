// The controls of issue 10 in the analysis: the budget keys leak, threads and warn, the
// suppressions file and its pattern match, and what analyze_report makes of them.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "budget_parse.hpp"
#include "memx/budget.hpp"
#include "memx/report.hpp"
#include "memx/suppressions.hpp"

namespace {

using memx_test::parse_error;
using memx_test::parse_ok;

TEST(BudgetControls, LeakThreadsAndWarnParse) {
  const memx::Budget b = parse_ok("net=0, leak=2, threads=current, warn");
  EXPECT_EQ(b.net, 0);
  EXPECT_EQ(b.leak, 2);
  EXPECT_EQ(b.threads, memx::Threads::current);
  EXPECT_EQ(b.warn, true);
  EXPECT_EQ(parse_ok("threads=all").threads, memx::Threads::all);
  EXPECT_EQ(parse_ok("warn").warn, true);
  EXPECT_FALSE(parse_ok("warn").empty());
  EXPECT_FALSE(parse_ok("threads=all").empty());
  EXPECT_EQ(parse_ok("warn net=0").net, 0);
  EXPECT_EQ(parse_ok("net=0,warn").warn, true);
  EXPECT_EQ(parse_ok("leak = 0").leak, 0);
}

TEST(BudgetControls, CanonicalTextReadsBackEqual) {
  const memx::Budget b = parse_ok("warn, threads=current, leak=3, peak=4MiB");
  EXPECT_EQ(memx::to_string(b), "peak=4MiB, leak=3, threads=current, warn");
  EXPECT_EQ(parse_ok(memx::to_string(b)), b);
}

TEST(BudgetControls, BadValuesNameTheToken) {
  EXPECT_EQ(parse_error("threads=main"),
            "memx budget \"threads=main\": unknown threads value \"main\" in \"threads=main\" "
            "(use current or all, or a whole number: the threads the test may leave running)");
  EXPECT_EQ(parse_error("leak=2KiB"),
            "memx budget \"leak=2KiB\": \"leak\" takes a plain whole number, not \"2KiB\" in "
            "\"leak=2KiB\"");
  EXPECT_NE(parse_error("leak=-1").find("negative value \"-1\""), std::string::npos);
  EXPECT_NE(parse_error("leak=many").find("invalid number \"many\""), std::string::npos);
  EXPECT_EQ(parse_error("warn=1"),
            "memx budget \"warn=1\": \"warn\" takes no value (write \"warn\" alone, e.g. "
            "\"net=0, warn\")");
  EXPECT_EQ(parse_error("warn warn"), "memx budget \"warn warn\": duplicate key \"warn\"");
  EXPECT_NE(parse_error("threads=all threads=current").find("duplicate key \"threads\""),
            std::string::npos);
  EXPECT_NE(parse_error("warning").find("missing '=' in \"warning\""), std::string::npos);
  EXPECT_NE(parse_error("leaks=1").find("(use peak, net, blocks, allocs, rss, leak, fds, threads, warn)"),
            std::string::npos);
}

TEST(BudgetControls, OverriddenByKeepsTheControls) {
  const memx::Budget global = parse_ok("net=0, warn, threads=current");
  const memx::Budget test = parse_ok("leak=1, threads=all");
  const memx::Budget b = global.overridden_by(test);
  EXPECT_EQ(b.net, 0);
  EXPECT_EQ(b.leak, 1);
  EXPECT_EQ(b.threads, memx::Threads::all);
  EXPECT_EQ(b.warn, true);
}

TEST(BudgetControls, CheckBudgetLeavesLeakToTheRepetitions) {
  memx::Measurement m;
  m.net_blocks = 5;
  EXPECT_TRUE(memx::check_budget(parse_ok("leak=0"), m).empty());
  EXPECT_EQ(memx::describe(memx::Violation{"leak", 3, 2}),
            "leaks 3 blocks per repetition, its budget expects 2 (leak=2)");
}

// LeakSanitizer's TemplateMatch rules.
TEST(SuppressionMatch, WildcardsAndAnchors) {
  using memx::suppression_matches;
  EXPECT_TRUE(suppression_matches("CreateSingleton", "app::Registry::CreateSingleton()"));
  EXPECT_TRUE(suppression_matches("*CreateSingleton*", "app::Registry::CreateSingleton()"));
  EXPECT_TRUE(suppression_matches("libfontconfig*", "/usr/lib/x86_64-linux-gnu/libfontconfig.so.1"));
  EXPECT_FALSE(suppression_matches("^libfontconfig", "/usr/lib/libfontconfig.so.1"));
  EXPECT_TRUE(suppression_matches("^/usr/lib/*fontconfig", "/usr/lib/libfontconfig.so.1"));
  EXPECT_TRUE(suppression_matches("so.1$", "/usr/lib/libfontconfig.so.1"));
  EXPECT_FALSE(suppression_matches("so$", "/usr/lib/libfontconfig.so.1"));
  EXPECT_TRUE(suppression_matches("^exact$", "exact"));
  EXPECT_FALSE(suppression_matches("^exact$", "exactly"));
  EXPECT_TRUE(suppression_matches("a*b*c", "xxaxxbxxcxx"));
  EXPECT_FALSE(suppression_matches("a*b*c", "xxcxxbxxaxx"));
  EXPECT_TRUE(suppression_matches("ab$", "abab"));  // the last "ab", not the first
  EXPECT_TRUE(suppression_matches("*", "anything"));
  EXPECT_FALSE(suppression_matches("*", ""));  // an unknown name never matches
  EXPECT_FALSE(suppression_matches("^$", "x"));
}

// The shape of a real project's LSan suppressions file (Chromium's, Mozilla's, Qt's CI).
constexpr const char* kProjectFile = R"(# LeakSanitizer suppressions for the UI test suites.
# Third-party libraries that keep process-lifetime caches.

leak:libfontconfig*
leak:*CreateSingleton*
   leak:libGLX_mesa.so  

# Known leak in the legacy parser, tracked in #1234.
leak:^legacy::Parser::
test:Legacy.*
)";

TEST(Suppressions, ReadsARealProjectsFile) {
  const memx::SuppressionsParse p = memx::parse_suppressions(kProjectFile, "lsan.supp");
  ASSERT_TRUE(p.list.has_value()) << p.error;
  ASSERT_EQ(p.list->size(), 5u);
  EXPECT_EQ((*p.list)[0].text(), "leak:libfontconfig*");
  EXPECT_EQ((*p.list)[0].line, 4);
  EXPECT_EQ((*p.list)[2].pattern, "libGLX_mesa.so");
  EXPECT_EQ((*p.list)[2].line, 6);
  EXPECT_EQ((*p.list)[3].pattern, "^legacy::Parser::");
  EXPECT_EQ((*p.list)[4].kind, memx::Suppression::Kind::test);
  EXPECT_EQ((*p.list)[4].line, 10);
}

TEST(Suppressions, BadLinesAreErrorsWithTheirLineNumber) {
  EXPECT_EQ(memx::parse_suppressions("leak:a\n\nrace:foo\n", "x.supp").error,
            "x.supp:3: unknown line \"race:foo\" (expected leak:PATTERN or test:PATTERN; '#' "
            "starts a comment)");
  EXPECT_EQ(memx::parse_suppressions("libfoo.so\n", "x.supp").error,
            "x.supp:1: unknown line \"libfoo.so\" (expected leak:PATTERN or test:PATTERN; '#' "
            "starts a comment)");
  EXPECT_EQ(memx::parse_suppressions("# c\nleak:   \n", "x.supp").error,
            "x.supp:2: \"leak:\" has no pattern (it would match nothing)");
  EXPECT_TRUE(memx::parse_suppressions("", "x.supp").list.has_value());
  EXPECT_TRUE(memx::parse_suppressions("leak:a", "x.supp").list.has_value());
}

TEST(Suppressions, AMissingFileIsAnErrorNamingIt) {
  const memx::SuppressionsParse p = memx::read_suppressions_file("/nonexistent/lsan.supp");
  EXPECT_FALSE(p.list.has_value());
  EXPECT_EQ(p.error, "/nonexistent/lsan.supp: cannot read the suppressions file: No such file or "
                     "directory");
}

memx::RunRecord run(std::int64_t net_bytes, std::int64_t net_blocks) {
  memx::RunRecord r;
  r.net_bytes = net_bytes;
  r.net_blocks = net_blocks;
  r.peak_bytes = net_bytes > 0 ? net_bytes : 0;
  r.allocs = net_blocks > 0 ? static_cast<std::uint64_t>(net_blocks) : 0;
  return r;
}

memx::TestRecord leaking(const std::string& name, std::int64_t blocks, const char* budget) {
  memx::TestRecord t;
  t.name = name;
  t.runs = std::vector<memx::RunRecord>(4, run(32 * blocks, blocks));
  if (budget != nullptr) t.budget = memx::parse_budget(budget).budget;
  return t;
}

memx::FrameRecord frame(const char* function, const char* file, const char* module) {
  memx::FrameRecord f;
  f.function = function;
  f.file = file;
  f.module = module;
  return f;
}

memx::SiteRecord site(std::vector<memx::FrameRecord> frames, std::size_t runs) {
  memx::SiteRecord s;
  s.frames = std::move(frames);
  s.runs = std::vector<memx::SiteRun>(runs, memx::SiteRun{32, 1});
  s.bytes = 32 * static_cast<std::int64_t>(runs);
  s.blocks = static_cast<std::int64_t>(runs);
  return s;
}

TEST(ExpectedLeak, ExactlyTheDeclaredBlocksIsExpected) {
  memx::Report r;
  r.tests.push_back(leaking("Cache.Registers", 2, "leak=2"));
  r.tests.push_back(leaking("Cache.RegistersMore", 3, "leak=2"));
  r.tests.push_back(leaking("Cache.RegistersNone", 0, "leak=2"));
  r.tests.push_back(leaking("Cache.Clean", 0, "leak=0"));
  r.tests.push_back(leaking("Cache.LeaksDespiteZero", 1, "leak=0"));
  memx::analyze_report(r);
  EXPECT_EQ(r.tests[0].leak.verdict, memx::Verdict::expected);
  EXPECT_NE(r.tests[0].leak.reason.find("as its budget expects (leak=2)"), std::string::npos);
  EXPECT_TRUE(r.tests[0].violations.empty());
  ASSERT_EQ(r.tests[1].violations.size(), 1u);
  EXPECT_EQ(r.tests[1].violations[0].key, "leak");
  EXPECT_EQ(r.tests[1].violations[0].measured, 3);
  EXPECT_EQ(r.tests[1].violations[0].message,
            "leaks 3 blocks per repetition, its budget expects 2 (leak=2)");
  EXPECT_EQ(r.tests[1].leak.verdict, memx::Verdict::leak);
  ASSERT_EQ(r.tests[2].violations.size(), 1u);
  EXPECT_EQ(r.tests[2].violations[0].measured, 0);
  EXPECT_TRUE(r.tests[3].violations.empty());
  EXPECT_EQ(r.tests[3].leak.verdict, memx::Verdict::clean);
  ASSERT_EQ(r.tests[4].violations.size(), 1u);
  // A single run is not judged.
  memx::TestRecord once = leaking("Once", 2, "leak=2");
  once.runs.resize(1);
  EXPECT_FALSE(memx::judge_expected_leak(once).has_value());
}

TEST(WarnOnly, ViolationsSayWhetherTheyWereEnforced) {
  memx::Report r;
  r.tests.push_back(leaking("A.enforced", 1, "net=0"));
  r.tests.push_back(leaking("A.warned", 1, "net=0, warn"));
  memx::analyze_report(r);
  ASSERT_EQ(r.tests[0].violations.size(), 1u);
  EXPECT_TRUE(r.tests[0].violations[0].enforced);
  ASSERT_EQ(r.tests[1].violations.size(), 1u);
  EXPECT_FALSE(r.tests[1].violations[0].enforced);
  EXPECT_TRUE(memx::gated_violations(r.tests[0]));
  EXPECT_FALSE(memx::gated_violations(r.tests[1]));
  r.warn_only = true;
  memx::analyze_report(r);
  EXPECT_FALSE(r.tests[0].violations[0].enforced);
}

TEST(Suppressions, TestAndLeakLinesSuppressAndAreCounted) {
  memx::Report r;
  r.stacks.depth = 16;
  r.suppressions = {{"test:Legacy.*", 1, 0}, {"leak:libfontconfig*", 2, 0},
                    {"leak:*CreateSingleton*", 3, 0}, {"leak:never_used", 4, 0}};
  r.tests.push_back(leaking("Legacy.Parses", 1, nullptr));
  memx::TestRecord font = leaking("Ui.Fonts", 1, nullptr);
  font.sites.push_back(site({frame("FcInit", "", "/usr/lib/libfontconfig.so.1"),
                             frame("Ui_Fonts_Test::TestBody()", "ui_test.cpp", "ui_tests")},
                            4));
  r.tests.push_back(font);
  memx::TestRecord both = leaking("Ui.Both", 2, nullptr);
  both.sites.push_back(site({frame("app::CreateSingleton()", "app.cpp", "ui_tests")}, 4));
  both.sites.push_back(site({frame("app::Cache::add()", "cache.cpp", "ui_tests")}, 4));
  r.tests.push_back(both);
  memx::TestRecord single = leaking("Ui.Singleton", 1, nullptr);
  single.sites.push_back(site({frame("app::CreateSingleton()", "app.cpp", "ui_tests")}, 4));
  r.tests.push_back(single);
  memx::analyze_report(r);
  EXPECT_EQ(r.tests[0].leak.suppressed_by, "test:Legacy.*");
  EXPECT_EQ(r.tests[1].leak.suppressed_by, "leak:libfontconfig*");
  EXPECT_EQ(r.tests[2].leak.suppressed_by, "");  // one of its two sites is not suppressed
  EXPECT_TRUE(r.tests[2].leak.reported_leak());
  EXPECT_EQ(r.tests[3].leak.suppressed_by, "leak:*CreateSingleton*");
  EXPECT_FALSE(r.tests[3].leak.reported_leak());
  EXPECT_EQ(r.suppressions[0].used, 1u);
  EXPECT_EQ(r.suppressions[1].used, 1u);
  EXPECT_EQ(r.suppressions[2].used, 1u);
  EXPECT_EQ(r.suppressions[3].used, 0u);
  // Analysing again counts again, not on top.
  memx::analyze_report(r);
  EXPECT_EQ(r.suppressions[0].used, 1u);
}

// analyze_report_from: tests judged as they are added (the session does so in a run of
// one repetition) end as analyze_report judges them all at once, suppression counts
// included; a report judged as a whole run, or not measured, is judged whole.
TEST(AnalyzeReportFrom, JudgingEachTestAsItComesIsJudgingThemAll) {
  memx::Report r;
  r.warn_only = false;
  r.suppressions = {{"test:Legacy.*", 1, 0}, {"test:*Cache*", 2, 0}, {"test:never", 3, 0}};
  std::vector<memx::TestRecord> tests = {
      leaking("Legacy.Parses", 1, nullptr),       leaking("Registry.Adds", 2, "leak=2"),
      leaking("Server.Requests", 0, "net=0, allocs=0"), leaking("Cache.Grows", 1, "net=0, warn"),
      leaking("Legacy.Again", 3, "blocks=1"),     leaking("Clean.Runs", 0, nullptr),
      leaking("Peak.Over", 1, "peak=1"),          leaking("Cache.Twice", 1, nullptr)};
  for (const std::size_t runs : {std::size_t{1}, std::size_t{2}, std::size_t{4}}) {
    memx::Report whole = r, each = r;
    for (memx::TestRecord t : tests) {
      t.runs.resize(runs, t.runs.front());
      whole.tests.push_back(t);
      each.tests.push_back(t);
      memx::analyze_report_from(each, each.tests.size() - 1, memx::suppressions_of(r));
    }
    memx::analyze_report(whole);
    EXPECT_EQ(each, whole) << runs << " runs";
    // Something to judge: leaks, violations, the suppressions' uses.
    if (runs == 4) {
      EXPECT_EQ(whole.suppressions[0].used, 2u);
      EXPECT_EQ(whole.suppressions[1].used, 2u);
      EXPECT_EQ(whole.tests[1].leak.verdict, memx::Verdict::expected);
    }
    EXPECT_FALSE(whole.tests[4].violations.empty()) << runs << " runs";
    EXPECT_FALSE(whole.tests[6].violations.empty()) << runs << " runs";
    // Judging the rest again from where it was left changes nothing, nor counts twice.
    memx::analyze_report_from(each, each.tests.size(), memx::suppressions_of(r));
    EXPECT_EQ(each, whole);
  }
  // Judged as a whole run (3 iteration totals): everything is judged again, from any point.
  memx::Report whole = r;
  for (const memx::TestRecord& t : tests) whole.tests.push_back(t);
  whole.iteration_end_live_bytes = {1000, 1000, 1000, 1000};
  memx::Report from = whole;
  memx::analyze_report(whole);
  for (memx::TestRecord& t : from.tests) t.leak.reason = "stale";
  memx::analyze_report_from(from, 5, memx::suppressions_of(r));
  EXPECT_EQ(from, whole);
  // Not measured: no test keeps a verdict.
  from.measured = false;
  memx::analyze_report_from(from, 5, memx::suppressions_of(r));
  for (const memx::TestRecord& t : from.tests) EXPECT_EQ(t.leak.reason, "not measured") << t.name;
}

TEST(Report, ControlsRoundTrip) {
  memx::Report r;
  r.framework = "googletest";
  r.binary = "t";
  r.warn_only = true;
  r.suppressions_file = "lsan.supp";
  r.suppressions = {{"test:Legacy.*", 3, 0}};
  r.tests.push_back(leaking("Legacy.Parses", 1, "net=0, leak=0, threads=current, warn"));
  memx::analyze_report(r);
  const memx::ReportRead back = memx::read_report(memx::to_json(r), "r.json");
  ASSERT_TRUE(back.report.has_value()) << back.error;
  EXPECT_EQ(*back.report, r);
  // Its leak is suppressed (test:) and its leak=0 broken: a suppression is no budget.
  EXPECT_EQ(back.report->suppressions[0].used, 1u);
  EXPECT_EQ(back.report->tests[0].violations.size(), 2u);
  const std::string bad = memx::to_json(r).replace(memx::to_json(r).find("test:Legacy.*"), 13,
                                                   "race:Legacy.*");
  EXPECT_NE(memx::read_report(bad, "r.json").error.find(
                "suppressions[0].text: \"race:Legacy.*\" is not one leak:PATTERN or test:PATTERN line"),
            std::string::npos);
}

// A run with every control: warn-only, a suppressions file (one line used, one not), an
// expected leak, a threads=current budget. Its golden file is also checked against
// docs/report.schema.json (memx_analysis.report_schema).
memx::Report controls_report() {
  memx::Report r;
  r.framework = "googletest";
  r.binary = "/work/build/tests/ui_tests";
  r.pid = 4244;
  r.complete = true;
  r.repetitions = 4;
  r.started_at = "2026-11-30T12:00:00Z";
  r.finished_at = "2026-11-30T12:00:01Z";
  r.backend = "mimalloc";
  r.warn_only = true;
  r.suppressions_file = "lsan.supp";
  r.suppressions = {{"test:Legacy.*", 4, 0}, {"leak:libfontconfig*", 6, 0}};
  r.tests.push_back(leaking("Legacy.Parses", 1, nullptr));
  r.tests.push_back(leaking("Registry.Adds", 2, "leak=2"));
  r.tests.push_back(leaking("Server.Requests", 0, "net=0, allocs=0, threads=current"));
  r.tests.push_back(leaking("Cache.Grows", 1, "net=0, warn"));
  memx::analyze_report(r);
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Report, ControlsMatchGoldenFile) {
  const std::string path = std::string(MEMX_ANALYSIS_GOLDEN_DIR) + "/report_controls.json";
  const memx::Report r = controls_report();
  EXPECT_EQ(r.tests[0].leak.suppressed_by, "test:Legacy.*");
  EXPECT_EQ(r.tests[1].leak.verdict, memx::Verdict::expected);
  ASSERT_EQ(r.tests[3].violations.size(), 1u);
  EXPECT_FALSE(r.tests[3].violations[0].enforced);
  const std::string text = memx::to_json(r);
  if (std::getenv("MEMX_UPDATE_GOLDEN") != nullptr) std::ofstream(path, std::ios::binary) << text;
  EXPECT_EQ(text, read_file(path)) << "regenerate with MEMX_UPDATE_GOLDEN=1 after an intended format change";
  const memx::ReportRead back = memx::read_report(read_file(path), "report_controls.json");
  ASSERT_TRUE(back.report.has_value()) << back.error;
  EXPECT_EQ(*back.report, r);
}

}  // namespace
