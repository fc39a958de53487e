// Unit tests of the memx CLI's rules and of merge/diff in memx::analysis.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"
#include "gate_rules.hpp"
#include "html.hpp"
#include "junit.hpp"
#include "memx/diff.hpp"
#include "memx/identity.hpp"
#include "memx/merge.hpp"
#include "memx/watch_analysis.hpp"
#include "memx/sites.hpp"
#include "pair_reader.hpp"
#include "show.hpp"
#include "sites_text.hpp"
#include "table.hpp"
#include "two_phase.hpp"

namespace memx::cli {
namespace {

RunRecord run(std::int64_t net, std::int64_t peak, std::uint64_t allocs) {
  RunRecord r;
  r.net_bytes = net;
  r.net_blocks = net > 0 ? 1 : 0;
  r.peak_bytes = peak;
  r.allocs = allocs;
  return r;
}

TestRecord test(const std::string& name, int line, std::vector<RunRecord> runs) {
  TestRecord t;
  t.name = name;
  t.file = "t.cpp";
  t.line = line;
  t.runs = std::move(runs);
  return t;
}

Report report(std::vector<TestRecord> tests, std::vector<std::int64_t> live = {}) {
  Report r;
  r.framework = "googletest";
  r.binary = "bin";
  r.pid = 7;
  r.complete = true;
  r.repetitions = 3;
  r.started_at = "2024-05-01T12:00:00Z";
  r.finished_at = "2024-05-01T12:00:01Z";
  r.backend = "mimalloc";
  r.iteration_end_live_bytes = std::move(live);
  r.tests = std::move(tests);
  analyze_report(r);
  return r;
}

// ---- tolerances ---------------------------------------------------------------------------

TEST(Tolerance, ParsesPercentSizeBothAndOff) {
  auto pct = parse_tolerance("10%", true);
  ASSERT_TRUE(pct.tolerance) << pct.error;
  EXPECT_EQ(pct.tolerance->percent, 10.0);
  EXPECT_FALSE(pct.tolerance->amount);
  EXPECT_EQ(pct.tolerance->allowed_growth(1000), 100);
  EXPECT_EQ(pct.tolerance->allowed_growth(0), 0);
  EXPECT_EQ(pct.tolerance->allowed_growth(-500), 0);

  auto size = parse_tolerance("4KiB", true);
  ASSERT_TRUE(size.tolerance) << size.error;
  EXPECT_EQ(size.tolerance->amount, 4096);
  EXPECT_EQ(size.tolerance->allowed_growth(1 << 30), 4096);

  auto both = parse_tolerance(" 10% , 1KiB ", true);
  ASSERT_TRUE(both.tolerance) << both.error;
  EXPECT_EQ(both.tolerance->allowed_growth(100), 1024);       // the amount allows more
  EXPECT_EQ(both.tolerance->allowed_growth(100000), 10000);   // the percentage allows more
  EXPECT_EQ(both.tolerance->describe(true), "10% or 1 KiB");

  auto off = parse_tolerance("off", true);
  ASSERT_TRUE(off.tolerance);
  EXPECT_FALSE(off.tolerance->gated);
  EXPECT_EQ(off.tolerance->describe(true), "off");

  auto zero = parse_tolerance("0", true);
  ASSERT_TRUE(zero.tolerance);
  EXPECT_EQ(zero.tolerance->allowed_growth(12345), 0);
  EXPECT_EQ(zero.tolerance->describe(true), "0 B");

  auto count = parse_tolerance("100", false);
  ASSERT_TRUE(count.tolerance);
  EXPECT_EQ(count.tolerance->amount, 100);
}

TEST(Tolerance, RejectsMalformedText) {
  for (const char* bad : {"", "   ", "%", "ten%", "1e3%", "-5%", "10%,20%", "1KiB,2KiB", "10XB",
                          "peak=4KiB", "4 KiB", ",", "10%,", "nan%", "inf", "2000000%"}) {
    auto p = parse_tolerance(bad, true);
    EXPECT_FALSE(p.tolerance) << '"' << bad << '"';
    EXPECT_NE(p.error.find("expected a percentage"), std::string::npos) << p.error;
  }
  EXPECT_FALSE(parse_tolerance("4KiB", false).tolerance);  // counts have no units
}

TEST(Tolerance, SaturatesOnHugeBases) {
  auto p = parse_tolerance("1000000%", true);
  ASSERT_TRUE(p.tolerance);
  EXPECT_EQ(p.tolerance->allowed_growth(INT64_MAX), INT64_MAX);
}

// ---- allow-list -------------------------------------------------------------------------

TEST(AllowList, PatternsCommentsAndReasons) {
  auto p = parse_allow_list("# header\n\nFlaky.*  # noisy\n  Exact.Name  \r\n*/Param.*/3\n", "a");
  ASSERT_TRUE(p.list) << p.error;
  EXPECT_EQ(p.list->patterns, (std::vector<std::string>{"Flaky.*", "Exact.Name", "*/Param.*/3"}));
  EXPECT_TRUE(p.list->allows("Flaky.Anything"));
  EXPECT_TRUE(p.list->allows("Flaky."));
  EXPECT_TRUE(p.list->allows("Exact.Name"));
  EXPECT_FALSE(p.list->allows("Exact.Name2"));
  EXPECT_TRUE(p.list->allows("Inst/Param.Case/3"));
  EXPECT_FALSE(p.list->allows("Inst/Param.Case/4"));
  EXPECT_FALSE(p.list->allows("Other.Test"));
}

TEST(AllowList, RejectsBinaryWithTheLine) {
  auto p = parse_allow_list(std::string("ok\nbad\x01here\n", 12), "allow.txt");
  ASSERT_FALSE(p.list);
  EXPECT_EQ(p.error.rfind("allow.txt:2: control character 0x01", 0), 0u) << p.error;
}

// ---- table ------------------------------------------------------------------------------

TEST(Table, WidthsCountCodePointsAndAlign) {
  EXPECT_EQ(display_width("ü─x"), 3u);
  Table t({{"name", false}, {"n", true}});
  t.add_row({{"ü", Color::red}, {"10", Color::none}});
  t.add_row({{"abc", Color::none}, {"2", Color::none}});
  EXPECT_EQ(t.render(false, true),
            "+------+----+\n"
            "| name |  n |\n"
            "+------+----+\n"
            "| ü    | 10 |\n"
            "| abc  |  2 |\n"
            "+------+----+\n");
  const std::string colored = t.render(true, false);
  EXPECT_NE(colored.find("\x1b[31mü\x1b[0m   "), std::string::npos);
  EXPECT_NE(colored.find("┌──────┬────┐"), std::string::npos);
}

// ---- merge ------------------------------------------------------------------------------

TEST(Merge, OneReportComesBackUnchanged) {
  Report r = report({test("A.a", 1, {run(0, 10, 1)})}, {100, 100, 100});
  MergeResult m = merge_reports({{"r.json", r}}, ConflictPolicy::keep_first);
  EXPECT_EQ(m.report, r);
  EXPECT_TRUE(m.issues.empty());
}

TEST(Merge, ShardsInterleaveBySourceLocationAndSumIterationTotals) {
  Report s0 = report({test("S.a", 10, {run(0, 1, 1)}), test("S.c", 30, {run(0, 3, 1)})},
                     {100, 100, 100});
  Report s1 = report({test("S.b", 20, {run(0, 2, 1)}), test("S.d", 40, {run(0, 4, 1)})},
                     {50, 60, 70});
  s1.pid = 8;
  s1.started_at = "2024-05-01T11:59:59Z";
  MergeResult m = merge_reports({{"0", s0}, {"1", s1}}, ConflictPolicy::keep_first);
  EXPECT_TRUE(m.issues.empty());
  std::vector<std::string> names;
  for (const TestRecord& t : m.report.tests) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"S.a", "S.b", "S.c", "S.d"}));
  EXPECT_EQ(m.report.iteration_end_live_bytes, (std::vector<std::int64_t>{150, 160, 170}));
  EXPECT_EQ(m.report.pid, 0);
  EXPECT_EQ(m.report.binary, "bin");
  EXPECT_EQ(m.report.started_at, "2024-05-01T11:59:59Z");
  EXPECT_TRUE(m.report.complete);
}

// A leak watch (memx::write_watch_report) is kept when one input has it; two cannot be
// added up: the merged report has none, and an issue names both files.
TEST(Merge, KeepsTheOnlyLeakWatchAndNamesSeveral) {
  Report a = report({test("S.a", 10, {run(0, 1, 1)})}, {100});
  Report b = report({test("S.b", 20, {run(0, 2, 1)})}, {50});
  memx::WatchRecord w;
  w.interval_ms = 100;
  w.samples = {{0, 1000, 10, 8 << 20, 5, 2}, {100, 2000, 11, 8 << 20, 5, 2}};
  w.analysis = memx::analyze_watch(w.samples);
  b.watch = w;
  MergeResult one = merge_reports({{"a", a}, {"b", b}}, ConflictPolicy::keep_first);
  ASSERT_TRUE(one.report.watch.has_value());
  EXPECT_EQ(*one.report.watch, w);
  EXPECT_TRUE(one.issues.empty());

  a.watch = w;
  MergeResult two = merge_reports({{"a", a}, {"b", b}}, ConflictPolicy::keep_first);
  EXPECT_FALSE(two.report.watch.has_value());
  ASSERT_EQ(two.count(MergeIssue::Kind::mismatch), 1u);
  EXPECT_EQ(two.issues[0].sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(two.issues[0].message.find("2 reports hold a leak watch"), std::string::npos);
}

TEST(Merge, DuplicatesKeptOnceConflictsReported) {
  Report a = report({test("T.x", 1, {run(0, 10, 1)})});
  Report same = a;
  same.tests[0].runs[0].duration_ms = 99;  // durations and RSS may differ
  same.tests[0].runs[0].rss_peak_bytes = 4096;
  Report other = report({test("T.x", 1, {run(0, 20, 1)})});
  MergeResult dup = merge_reports({{"a", a}, {"b", same}}, ConflictPolicy::keep_first);
  ASSERT_EQ(dup.report.tests.size(), 1u);
  EXPECT_EQ(dup.count(MergeIssue::Kind::duplicate), 1u);
  EXPECT_EQ(dup.count(MergeIssue::Kind::conflict), 0u);

  MergeResult first = merge_reports({{"a", a}, {"c", other}}, ConflictPolicy::keep_first);
  ASSERT_EQ(first.report.tests.size(), 1u);
  EXPECT_EQ(first.report.tests[0].runs[0].peak_bytes, 10);
  ASSERT_EQ(first.count(MergeIssue::Kind::conflict), 1u);
  EXPECT_EQ(first.issues[0].detail, "different heap figures");
  EXPECT_EQ(first.issues[0].sources, (std::vector<std::string>{"a", "c"}));

  MergeResult all = merge_reports({{"a", a}, {"c", other}}, ConflictPolicy::keep_all);
  ASSERT_EQ(all.report.tests.size(), 2u);
  EXPECT_EQ(all.report.tests[1].name, "T.x [from c]");
}

TEST(Merge, IncompleteAndMismatchesAreNoted) {
  Report a = report({test("T.a", 1, {run(0, 1, 1)})}, {1, 2, 3});
  Report b = report({test("T.b", 2, {run(0, 1, 1)})}, {1, 2});
  b.complete = false;
  b.finished_at.clear();
  b.framework = "catch2";
  MergeResult m = merge_reports({{"a", a}, {"b", b}}, ConflictPolicy::keep_first);
  EXPECT_EQ(m.count(MergeIssue::Kind::incomplete), 1u);
  EXPECT_EQ(m.count(MergeIssue::Kind::mismatch), 2u);  // framework, iteration counts
  EXPECT_FALSE(m.report.complete);
  EXPECT_EQ(m.report.finished_at, "");
  EXPECT_EQ(m.report.framework, "googletest, catch2");
  EXPECT_TRUE(m.report.iteration_end_live_bytes.empty());
  EXPECT_EQ(m.report.tests.size(), 2u);
}

TEST(Merge, EachTestKeepsItsNewestRunAndTheStaleReportsAreNamed) {
  // An earlier run's report left in the directory: T.a failed then, passes now; T.c is only
  // in the earlier run and is kept; the earlier run's header takes part (it keeps T.c).
  Report old_run = report({test("T.a", 1, {run(0, 50, 1)}), test("T.c", 3, {run(0, 7, 1)})});
  old_run.tests[0].status = TestStatus::failed;
  old_run.run_id = "2026-11-29T09:00:00.000000Z/100";
  old_run.complete = false;
  Report new_a = report({test("T.a", 1, {run(0, 10, 1)})});
  new_a.run_id = "2026-11-30T09:00:00.000000Z/200";
  Report new_b = report({test("T.b", 2, {run(0, 20, 1)})});
  new_b.run_id = "2026-11-30T09:00:00.000001Z/201";
  // Whatever the order of the inputs.
  for (const bool old_first : {true, false}) {
    std::vector<SourcedReport> in{{"old.json", old_run}, {"a.json", new_a}, {"b.json", new_b}};
    if (!old_first) std::rotate(in.begin(), in.begin() + 1, in.end());
    MergeResult m = merge_reports(in, ConflictPolicy::keep_first);
    EXPECT_EQ(m.count(MergeIssue::Kind::conflict), 0u);
    ASSERT_EQ(m.count(MergeIssue::Kind::stale), 1u);
    const MergeIssue& stale = *std::find_if(m.issues.begin(), m.issues.end(), [](const MergeIssue& i) {
      return i.kind == MergeIssue::Kind::stale;
    });
    EXPECT_EQ(stale.sources, (std::vector<std::string>{"old.json", "a.json"}));
    EXPECT_EQ(stale.message,
              "old.json (run 2026-11-29T09:00:00.000000Z/100) is an earlier run: 1 test dropped "
              "(T.a), newer in a.json");
    ASSERT_EQ(m.report.tests.size(), 3u);
    EXPECT_EQ(m.report.tests[0].name, "T.a");
    EXPECT_EQ(m.report.tests[0].status, TestStatus::passed);
    EXPECT_EQ(m.report.tests[0].runs[0].peak_bytes, 10);
    EXPECT_EQ(m.report.tests[2].name, "T.c");
    EXPECT_FALSE(m.report.complete);  // the earlier run still contributes T.c
    EXPECT_EQ(m.report.run_id, "");   // several runs
  }
}

TEST(Merge, AWhollyStaleReportTakesNoPartAndOneWithoutARunIdIsOldest) {
  Report legacy = report({test("T.a", 1, {run(0, 50, 1)})});  // written before run_id
  legacy.complete = false;
  legacy.framework = "catch2";
  Report now = report({test("T.a", 1, {run(0, 10, 1)})});
  now.run_id = "2026-11-30T09:00:00.000000Z/200";
  MergeResult m = merge_reports({{"legacy.json", legacy}, {"now.json", now}}, ConflictPolicy::keep_first);
  ASSERT_EQ(m.issues.size(), 1u);  // no incomplete, no framework mismatch: only stale
  EXPECT_EQ(m.issues[0].kind, MergeIssue::Kind::stale);
  EXPECT_EQ(m.issues[0].message,
            "legacy.json (no run identifier) is an earlier run: its only test dropped (T.a), "
            "newer in now.json");
  EXPECT_EQ(m.report, now);
  // Two binaries that share a file name (a/print_test, b/print_test) are not runs of one
  // another: a conflict naming --root, whatever their run identifiers.
  Report a = now;
  a.binary = "/ci/a/print_test";
  Report b = now;
  b.binary = "/ci/b/print_test";
  b.run_id = "2026-11-30T10:00:00.000000Z/300";
  b.tests[0].runs[0].peak_bytes = 12;
  MergeResult two = merge_reports({{"a", a}, {"b", b}}, ConflictPolicy::keep_first);
  EXPECT_EQ(two.count(MergeIssue::Kind::stale), 0u);
  ASSERT_EQ(two.count(MergeIssue::Kind::conflict), 1u);
  // Same run identifiers (or none at all): duplicates and conflicts as before.
  Report other = now;
  other.tests[0].runs[0].peak_bytes = 11;
  MergeResult c = merge_reports({{"x", now}, {"y", other}}, ConflictPolicy::keep_first);
  EXPECT_EQ(c.count(MergeIssue::Kind::conflict), 1u);
  EXPECT_EQ(c.count(MergeIssue::Kind::stale), 0u);
}

TEST(Merge, AnUnmeasuredInputMakesTheMergeUnmeasuredAndIsNoted) {
  Report a = report({test("T.a", 1, {run(0, 1, 1)})});
  Report b = report({test("T.b", 2, {})});
  b.backend = "system";
  b.tool = "Valgrind";
  b.measured = false;
  MergeResult m = merge_reports({{"a", a}, {"b", b}}, ConflictPolicy::keep_first);
  EXPECT_FALSE(m.report.measured);
  EXPECT_EQ(m.report.tool, "Valgrind");
  ASSERT_EQ(m.count(MergeIssue::Kind::mismatch), 2u);  // the backend, whether measured
  bool named = false;
  for (const MergeIssue& i : m.issues) {
    named = named || i.message == "the reports disagree on whether memx measured anything: "
                                  "measured, not measured";
  }
  EXPECT_TRUE(named);
  analyze_report(m.report);
  EXPECT_EQ(m.report.tests[0].leak.reason, "not measured");
}

// ---- diff and gate ----------------------------------------------------------------------

TEST(Diff, MatchesByNameAndListsAddedAndRemoved) {
  Report base = report({test("T.same", 1, {run(0, 10, 1)}), test("T.gone", 2, {run(0, 1, 1)})});
  Report now = report({test("T.new", 3, {run(0, 1, 1)}), test("T.same", 1, {run(0, 12, 1)})});
  std::vector<TestDiff> d = diff_reports(base, now);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "T.new");
  EXPECT_TRUE(d[0].added());
  EXPECT_EQ(d[1].name, "T.same");
  EXPECT_TRUE(d[1].changed());
  EXPECT_EQ(d[2].name, "T.gone");
  EXPECT_TRUE(d[2].removed());
}

TEST(Diff, FiguresAreTheWorstRun) {
  TestFigures f = figures_of(test("T", 1, {run(100, 10, 5), run(0, 50, 2), run(-8, 20, 9)}));
  EXPECT_EQ(f.net_bytes, 100);
  EXPECT_EQ(f.peak_bytes, 50);
  EXPECT_EQ(f.allocs, 9u);
  EXPECT_EQ(f.runs, 3u);
}

TEST(Gate, ToleranceBoundaryAndNewLeaks) {
  Report base = report({test("T.peak", 1, {run(0, 1000, 10), run(0, 1000, 10), run(0, 1000, 10)}),
                        test("T.leak", 2, {run(0, 10, 1), run(0, 10, 1), run(0, 10, 1)})});
  Report now = report({test("T.peak", 1, {run(0, 1100, 11), run(0, 1100, 11), run(0, 1101, 11)}),
                       test("T.leak", 2, {run(16, 10, 1), run(16, 10, 1), run(16, 10, 1)}),
                       test("T.newleak", 3, {run(8, 8, 1), run(8, 8, 1), run(8, 8, 1)})});
  GateRules rules;  // peak 10%, net 0, allocs 10%
  std::vector<Regression> r = find_regressions(diff_reports(base, now), rules);
  std::vector<std::string> got;
  for (const Regression& x : r) got.push_back(x.test + ":" + x.what);
  // peak 1000 -> 1101 is 1 B over 10%; allocs 10 -> 11 is exactly 10%: allowed.
  EXPECT_EQ(got, (std::vector<std::string>{"T.peak:peak", "T.leak:leak", "T.leak:net",
                                           "T.newleak:leak"}));
  EXPECT_EQ(r[3].message,
            "T.newleak: newly leaks 8 B in 1 block per run (medium confidence; a new test)");

  rules.allow.patterns = {"T.*leak"};
  r = find_regressions(diff_reports(base, now), rules);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_FALSE(r[0].allowed);
  EXPECT_TRUE(r[1].allowed);
  EXPECT_TRUE(r[3].allowed);
}

TEST(Gate, OneLinePerChangedTestWithAllItsRegressions) {
  Report base = report({test("T.peak", 1, {run(0, 1000, 10), run(0, 1000, 10)}),
                        test("T.both", 2, {run(0, 10, 10), run(0, 10, 10), run(0, 10, 10)})});
  Report now = report({test("T.peak", 1, {run(0, 2000, 10), run(0, 2000, 10)}),
                       test("T.both", 2, {run(16, 10, 20), run(16, 10, 20), run(16, 10, 20)})});
  GateRules rules;
  const std::vector<Regression> r = find_regressions(diff_reports(base, now), rules);
  const std::vector<TestRegressions> lines = group_by_test(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].line, "T.peak: peak 1000 B -> 2 KiB (+1000 B, +100.0%; tolerance 10%)");
  EXPECT_EQ(lines[1].test, "T.both");
  ASSERT_EQ(lines[1].found.size(), 3u);  // the leak, net and allocs: one line
  EXPECT_EQ(lines[1].line,
            "T.both: newly leaks 16 B in 1 block per run (medium confidence; baseline: clean); "
            "net 0 B -> 16 B (+16 B; tolerance 0 B); allocs 10 -> 20 (+10, +100.0%; tolerance "
            "10%)");
  EXPECT_TRUE(group_by_test({}).empty());
}

TEST(Junit, XmlEscapeKeepsTextAndReplacesWhatXmlCannotHold) {
  EXPECT_EQ(xml_escape("A.b<c>&\"d'", true), "A.b&lt;c>&amp;&quot;d&apos;");
  EXPECT_EQ(xml_escape("x]]>y", false), "x]]&gt;y");  // would end a CDATA section
  EXPECT_EQ(xml_escape("a\nb\tc\rd", true), "a&#10;b&#9;c&#13;d");
  EXPECT_EQ(xml_escape("a\nb\tc", false), "a\nb\tc");
  EXPECT_EQ(xml_escape(std::string("n\x01\x1b[31m\x7f\0z", 10), false), "n\\x01\\x1b[31m\\x7f\\x00z");
  const std::string unicode = "\xc3\xbc" "n\xc3\xaf" "c\xf0\x9f\x98\x80";  // üni, an emoji
  EXPECT_EQ(xml_escape(unicode, false), unicode);
  EXPECT_EQ(xml_escape("bad\xff\xc3", false), "bad\\xff\\xc3");     // not UTF-8, truncated
  EXPECT_EQ(xml_escape("\xc0\x80", false), "\\xc0\\x80");           // overlong
  EXPECT_EQ(xml_escape("\xed\xa0\x80", false), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(xml_escape("\xef\xbf\xbe\xef\xbf\xbf", false), "\\ufffe\\uffff");
}

// ---- identity: binary and name ---------------------------------------------------------

Report of_binary(const std::string& binary, std::vector<TestRecord> tests) {
  Report r = report(std::move(tests));
  r.binary = binary;
  return r;
}

TEST(Identity, FileNameByDefaultPathBelowTheRootOtherwise) {
  EXPECT_EQ(binary_identity("/ci/build/tests/fmt/ostream_test", ""), "ostream_test");
  EXPECT_EQ(binary_identity("./ostream_test", ""), "ostream_test");
  EXPECT_EQ(binary_identity("/ci/build/tests/fmt/ostream_test", "/ci/build"),
            "tests/fmt/ostream_test");
  EXPECT_EQ(binary_identity("/ci/build/tests/fmt/ostream_test", "/ci/build/"),
            "tests/fmt/ostream_test");
  EXPECT_EQ(binary_identity("/ci/build/./tests/../tests/x", "/ci/build"), "tests/x");
  // Relative: already relative to the root (a rebased baseline).
  EXPECT_EQ(binary_identity("./tests/x", "/anywhere"), "tests/x");
  // Outside the root: the whole path, said by under_root.
  EXPECT_EQ(binary_identity("/elsewhere/x", "/ci/build"), "/elsewhere/x");
  EXPECT_FALSE(under_root("/elsewhere/x", "/ci/build"));
  EXPECT_FALSE(under_root("/ci/buildx/x", "/ci/build"));
  EXPECT_TRUE(under_root("/ci/build/x", "/ci/build"));
}

TEST(Identity, SameNameInTwoBinariesIsTwoTestsWhenMerged) {
  Report a = of_binary("/ci/build/a/ostream_test", {test("Print.Ostream", 1, {run(0, 100, 1)})});
  Report b = of_binary("/ci/build/b/format_test", {test("Print.Ostream", 1, {run(0, 900, 9)})});
  MergeResult m = merge_reports({{"a.json", a}, {"b.json", b}}, ConflictPolicy::keep_first);
  EXPECT_EQ(m.count(MergeIssue::Kind::conflict), 0u);
  ASSERT_EQ(m.report.tests.size(), 2u);
  EXPECT_EQ(m.report.binary, "/ci/build/a/ostream_test, /ci/build/b/format_test");
  EXPECT_EQ(m.report.tests[0].binary, "/ci/build/a/ostream_test");
  EXPECT_EQ(m.report.tests[1].binary, "/ci/build/b/format_test");
  EXPECT_EQ(identity_collision(m.report, ""), "");

  // The per-test binary survives writing and reading; a report of one binary has none.
  ReportRead back = read_report(to_json(m.report), "merged.json");
  ASSERT_TRUE(back.report) << back.error;
  EXPECT_EQ(*back.report, m.report);
  const std::string one = to_json(a);
  EXPECT_EQ(one.find("\"binary\""), one.rfind("\"binary\""));  // the top-level one only
  const std::string merged = to_json(m.report);
  EXPECT_NE(merged.find("\"binary\": \"/ci/build/b/format_test\",\n      \"file\""),
            std::string::npos);
}

TEST(Identity, BinariesSharingAFileNameNeedARoot) {
  Report a = of_binary("/ci/build/a/same_test", {test("Print.Ostream", 1, {run(0, 100, 1)})});
  Report b = of_binary("/ci/build/b/same_test", {test("Print.Ostream", 1, {run(0, 900, 9)})});
  MergeResult m = merge_reports({{"a.json", a}, {"b.json", b}}, ConflictPolicy::keep_first);
  ASSERT_EQ(m.count(MergeIssue::Kind::conflict), 1u);
  EXPECT_NE(m.issues.back().detail.find("tell them apart with --root DIR"), std::string::npos)
      << m.issues.back().detail;

  m = merge_reports({{"a.json", a}, {"b.json", b}}, ConflictPolicy::keep_first, "/ci/build");
  EXPECT_EQ(m.count(MergeIssue::Kind::conflict), 0u);
  ASSERT_EQ(m.report.tests.size(), 2u);
  // Read back without the root, the merged report's two binaries collide.
  EXPECT_NE(identity_collision(m.report, "").find("--root DIR"), std::string::npos);
  EXPECT_EQ(identity_collision(m.report, "/ci/build"), "");
  // Rebased, it matches on another machine without knowing the first one's root.
  Report rebased = m.report;
  rebase_binaries(rebased, "/ci/build");
  EXPECT_EQ(rebased.tests[0].binary, "a/same_test");
  EXPECT_EQ(rebased.tests[1].binary, "b/same_test");
  Report elsewhere_a = of_binary("/home/me/build/a/same_test", {a.tests[0]});
  Report elsewhere_b = of_binary("/home/me/build/b/same_test", {b.tests[0]});
  MergeResult here = merge_reports({{"a.json", elsewhere_a}, {"b.json", elsewhere_b}},
                                   ConflictPolicy::keep_first, "/home/me/build");
  std::vector<TestDiff> d = diff_reports(rebased, here.report, "/home/me/build");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_FALSE(d[0].changed() || d[0].added() || d[0].removed());
  EXPECT_FALSE(d[1].changed() || d[1].added() || d[1].removed());
  EXPECT_EQ(d[0].label(), "a/same_test: Print.Ostream");
}

TEST(Identity, OneBinaryEachSideMatchesByNameAlone) {
  Report base = of_binary("/old/name_test", {test("T.a", 1, {run(0, 10, 1)})});
  Report now = of_binary("/new/renamed_test", {test("T.a", 1, {run(0, 10, 1)})});
  std::vector<TestDiff> d = diff_reports(base, now);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].base && d[0].now);
  EXPECT_EQ(d[0].label(), "T.a");
}

TEST(Identity, ReaderRejectsTheSameTestOfTheSameBinaryTwiceOnly) {
  Report r = of_binary("x, y", {test("T.a", 1, {run(0, 10, 1)}), test("T.a", 1, {run(0, 10, 1)})});
  r.tests[0].binary = "x";
  r.tests[1].binary = "y";
  EXPECT_TRUE(read_report(to_json(r), "r.json").report);
  r.tests[1].binary = "x";
  ReportRead bad = read_report(to_json(r), "r.json");
  EXPECT_FALSE(bad.report);
  EXPECT_NE(bad.error.find("the test \"T.a\" of x is in the report twice"), std::string::npos)
      << bad.error;
}

// ---- the gate ignores the warm-up run ------------------------------------------------------

TEST(Diff, ComparedFiguresSkipTheWarmUp) {
  // A static cache filled on first use: 64 KiB in whichever test ran first.
  TestFigures f = compared_figures(test("T", 1, {run(65536, 70000, 50), run(0, 500, 5), run(0, 400, 6)}));
  EXPECT_EQ(f.net_bytes, 0);
  EXPECT_EQ(f.peak_bytes, 500);
  EXPECT_EQ(f.allocs, 6u);
  EXPECT_EQ(f.runs, 3u);
  // One run: that run.
  f = compared_figures(test("T", 1, {run(64, 70, 5)}));
  EXPECT_EQ(f.net_bytes, 64);
  EXPECT_EQ(f.peak_bytes, 70);
  EXPECT_EQ(compared_figures(test("T", 1, {})).runs, 0u);
}

TEST(Gate, OneTimeGrowthMovingToAnotherTestIsNoRegression) {
  // In order T.a ran first and paid the one-time 64 KiB; shuffled, T.b did.
  Report base = report({test("T.a", 1, {run(65536, 70000, 50), run(0, 500, 5), run(0, 500, 5)}),
                        test("T.b", 2, {run(0, 600, 6), run(0, 600, 6), run(0, 600, 6)})});
  Report now = report({test("T.b", 2, {run(65536, 70100, 51), run(0, 600, 6), run(0, 600, 6)}),
                       test("T.a", 1, {run(0, 500, 5), run(0, 500, 5), run(0, 500, 5)})});
  GateRules rules;
  EXPECT_TRUE(find_regressions(diff_reports(base, now), rules).empty());
  // A real regression after the warm-up is still one.
  now.tests[1].runs[2].peak_bytes = 5000;
  std::vector<Regression> r = find_regressions(diff_reports(base, now), rules);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].test, "T.a");
  EXPECT_EQ(r[0].what, "peak");
}

TEST(Gate, DescribeChange) {
  EXPECT_EQ(describe_change(1024, 2048, true), "+1 KiB, +100.0%");
  EXPECT_EQ(describe_change(0, 10, false), "+10");
  EXPECT_EQ(describe_change(100, 90, false), "-10, -10.0%");
  EXPECT_EQ(describe_change(INT64_MIN, INT64_MAX, true).substr(0, 1), "+");
}


// ---- allocation sites (stack mode) ---------------------------------------------------------

FrameRecord frame(std::string function, std::string file, int line, std::uint64_t offset = 0x10) {
  FrameRecord f;
  f.function = std::move(function);
  f.file = std::move(file);
  f.line = line;
  f.module = "/ci/build/app_tests";
  f.offset = offset;
  return f;
}

// A site whose user frame is `user` under one frame of the standard library; `blocks` per run.
SiteRecord site(const FrameRecord& user, std::vector<std::int64_t> blocks) {
  SiteRecord s;
  s.frames = {frame("std::__new_allocator<int>::allocate(unsigned long, void const*)",
                    "/usr/include/c++/12/bits/new_allocator.h", 137),
              user};
  s.user_frame = 1;
  for (std::int64_t b : blocks) {
    s.runs.push_back(SiteRun{16 * b, b});
    s.bytes += 16 * b;
    s.blocks += b;
  }
  return s;
}

TEST(Sites, KeptByNamesTheRunsAsRanges) {
  const FrameRecord user = frame("keep()", "app.cpp", 7);
  EXPECT_EQ(kept_by(site(user, {1, 1, 1, 1, 1}), 5), "runs 1-5 of 5");
  EXPECT_EQ(kept_by(site(user, {0, 1, 1, 1, 1}), 5), "runs 2-5 of 5");
  EXPECT_EQ(kept_by(site(user, {0, 0, 0, 0, 2}), 5), "run 5 of 5");
  EXPECT_EQ(kept_by(site(user, {1, 0, 1, 1, 0, 1}), 6), "runs 1, 3-4, 6 of 6");
  EXPECT_EQ(kept_by(site(user, {0, 0, 0}), 3), "no run of 3");
  // A site with fewer runs than the test (a report written while the test ran).
  EXPECT_EQ(kept_by(site(user, {1, 1}), 3), "runs 1-2 of 3");
  EXPECT_EQ(site_line(site(user, {0, 1, 1}), 3), "32 B in 2 blocks (kept by runs 2-3 of 3) at app.cpp:7 in keep()");
}

TEST(Sites, SamePlaceIsTheUserFramesFileNameLineAndFunction) {
  const SiteRecord a = site(frame("keep()", "/ci/src/app.cpp", 7, 0x100), {1});
  // Another checkout and build: other directory, other return address.
  EXPECT_TRUE(same_place(a, site(frame("keep()", "/home/me/src/app.cpp", 7, 0x999), {1})));
  EXPECT_FALSE(same_place(a, site(frame("keep()", "/ci/src/app.cpp", 8), {1})));
  EXPECT_FALSE(same_place(a, site(frame("other()", "/ci/src/app.cpp", 7), {1})));
  EXPECT_FALSE(same_place(a, site(frame("keep()", "/ci/src/other.cpp", 7), {1})));
  // The frames folded away before the user's are not compared.
  SiteRecord b = a;
  b.frames[0].line = 140;
  EXPECT_TRUE(same_place(a, b));
  EXPECT_FALSE(same_place(a, SiteRecord{}));
  EXPECT_TRUE(same_place(SiteRecord{}, SiteRecord{}));
}

TEST(Sites, NewGrowingSitesAreTheLeakingOnesTheBaseDidNotHave) {
  TestRecord now = test("T", 1, {run(16, 64, 1), run(16, 64, 1), run(16, 64, 1)});
  now.sites = {site(frame("keep()", "app.cpp", 7), {1, 1, 1}),      // leaks, known
               site(frame("grow()", "app.cpp", 9), {0, 1, 1}),      // leaks, new
               site(frame("once()", "app.cpp", 11), {1, 0, 0})};    // one-time, not a leak
  TestRecord base = now;
  base.sites = {site(frame("keep()", "app.cpp", 7), {1, 1, 1}), site(frame("once()", "app.cpp", 11), {1, 0, 0})};
  ASSERT_EQ(growing_sites(now).size(), 2u);
  const std::vector<const SiteRecord*> fresh = new_growing_sites(base, now);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0], &now.sites[1]);
  EXPECT_EQ(new_leak_line(*fresh[0], 3), "new leak at app.cpp:9 in grow() (16 B in 1 block per repetition)");
  base.sites.push_back(site(frame("grow()", "app.cpp", 9), {1, 0, 0}));  // there, if only once
  EXPECT_TRUE(new_growing_sites(base, now).empty());
}

TEST(Sites, StackMarksTheFoldedFramesAndTheUsersFrame) {
  SiteRecord s = site(frame("keep()", "app.cpp", 7), {1});
  s.frames[0].inlined = true;
  FrameRecord stripped = frame("", "", 0, 0xa4777);
  stripped.note = "no symbols or debug information";
  s.frames.push_back(stripped);
  EXPECT_EQ(stack_lines(s, "  ", false),
            "  #0 folded std::__new_allocator<int>::allocate(unsigned long, void const*) at "
            "/usr/include/c++/12/bits/new_allocator.h:137 (inlined)\n"
            "  #1 >      keep() at app.cpp:7\n"
            "  #2        ?? at /ci/build/app_tests+0xa4777 (no symbols or debug information)\n");
  EXPECT_EQ(stack_lines(s, "", true).substr(0, 8), "\x1b[2m#0 f");
}

// ---- memx check --stacks (two phases) -----------------------------------------------------

TEST(TwoPhase, CulpritsLeakOrAreOverBudget) {
  Report r = report({test("A.clean", 1, {run(0, 10, 1), run(0, 10, 1), run(0, 10, 1)}),
                     test("A.leaks", 2, {run(16, 16, 1), run(16, 16, 1), run(16, 16, 1)}),
                     test("A.over", 3, {run(0, 100, 1), run(0, 100, 1), run(0, 100, 1)})});
  r.tests[2].violations.push_back(ViolationRecord{"peak", 100, 50, "peak 100 B exceeds budget 50 B"});
  EXPECT_EQ(culprits(r), (std::vector<std::string>{"A.leaks", "A.over"}));
  EXPECT_EQ(gtest_filter({"A.leaks", "Param/A.over/0"}), "--gtest_filter=A.leaks:Param/A.over/0");
}

TEST(TwoPhase, Catch2SpecsEscapeAndFindTheTestCase) {
  EXPECT_EQ(catch2_spec("Parser, \"quoted\" [tag] ~x *"), "Parser\\, \\\"quoted\\\" \\[tag\\] \\~x \\*");
  EXPECT_EQ(catch2_spec("a\\b"), "a\\\\b");
  const std::vector<std::string> cases = {"Vec", "Vec / push", "Map", "Vector"};
  EXPECT_EQ(catch2_test_case("Vec", cases), "Vec");
  EXPECT_EQ(catch2_test_case("Vec / grows / twice", cases), "Vec");
  EXPECT_EQ(catch2_test_case("Vec / push / again", cases), "Vec / push");  // the longest
  EXPECT_EQ(catch2_test_case("Map #2", cases), "Map");
  EXPECT_EQ(catch2_test_case("Vector", cases), "Vector");
  EXPECT_EQ(catch2_test_case("Vectors", cases), "");
}

TEST(TwoPhase, MergedSitesKeepTheCountingVerdictAndNameTheLine) {
  const std::vector<RunRecord> grows = {run(16, 16, 1), run(16, 16, 1), run(16, 16, 1)};
  Report counting = report({test("T.leaks", 1, grows), test("T.handoff", 2, grows), test("T.fine", 3, grows)});
  ASSERT_EQ(counting.tests[0].leak.verdict, Verdict::leak);
  ASSERT_EQ(counting.tests[1].leak.verdict, Verdict::leak);
  Report rerun = counting;
  rerun.stacks = StacksInfo{32, "libunwind", 10, 0, true};
  rerun.tests[0].sites = {site(frame("keep()", "app.cpp", 7), {1, 1, 1})};
  // In the rerun only T.handoff's warm-up block stays live: alone, the rule by site would
  // call its growth handed off (clean); the counting run, where every test ran, said leak.
  rerun.tests[1].sites = {site(frame("once()", "app.cpp", 9), {1, 0, 0})};
  TestRecord alone = rerun.tests[1];
  refine_leak_by_sites(alone, rerun.stacks);
  ASSERT_EQ(alone.leak.verdict, Verdict::clean);
  rerun.tests.pop_back();
  const std::vector<std::string> missing = merge_sites(counting, rerun, {"T.leaks", "T.handoff", "T.fine"});
  EXPECT_EQ(missing, std::vector<std::string>{"T.fine"});
  EXPECT_EQ(counting.stacks, rerun.stacks);
  EXPECT_EQ(counting.tests[0].sites.size(), 1u);
  EXPECT_EQ(counting.tests[0].leak.verdict, Verdict::leak);
  EXPECT_NE(counting.tests[0].leak.reason.find("app.cpp:7 in keep()"), std::string::npos)
      << counting.tests[0].leak.reason;
  EXPECT_EQ(counting.tests[1].leak.verdict, Verdict::leak);
  EXPECT_EQ(counting.tests[1].sites.size(), 1u);
  EXPECT_EQ(counting.tests[0].runs, grows);
  // Only the tests the rerun ran have their sites recorded.
  EXPECT_TRUE(counting.tests[0].sites_recorded);
  EXPECT_TRUE(counting.tests[1].sites_recorded);
  EXPECT_FALSE(counting.tests[2].sites_recorded);
}

TEST(TwoPhase, SitesOfAShorterRerunAreReadOverItsRepetitions) {
  // Counted over 5 repetitions, rerun in stack mode over 3: the sites say so, and everything
  // that reads them reads 3 runs (the verdict by site, "kept by", diff's new leak line).
  const std::vector<RunRecord> grows(5, run(16, 16, 1));
  Report counting = report({test("T.leaks", 1, grows)});
  ASSERT_EQ(counting.tests[0].leak.verdict, Verdict::leak);
  Report rerun = report({test("T.leaks", 1, {run(16, 16, 1), run(16, 16, 1), run(16, 16, 1)})});
  rerun.stacks = StacksInfo{32, "libunwind", 10, 0, true};
  rerun.tests[0].sites = {site(frame("keep()", "app.cpp", 7), {1, 1, 1})};
  EXPECT_TRUE(merge_sites(counting, rerun, {"T.leaks"}).empty());
  const TestRecord& t = counting.tests[0];
  EXPECT_EQ(t.site_runs, 3u);
  EXPECT_EQ(site_repetitions(t), 3u);
  EXPECT_EQ(t.runs.size(), 5u);
  EXPECT_EQ(t.leak.verdict, Verdict::leak);
  EXPECT_NE(t.leak.reason.find("app.cpp:7 in keep()"), std::string::npos) << t.leak.reason;
  EXPECT_EQ(growing_sites(t).size(), 1u);
  EXPECT_NE(site_line(t.sites[0], site_repetitions(t)).find("(kept by runs 1-3 of 3)"),
            std::string::npos)
      << site_line(t.sites[0], site_repetitions(t));
  // Written and read back, and judged again from the file: the same.
  const std::string json = to_json(counting);
  EXPECT_NE(json.find("\"site_runs\": 3"), std::string::npos);
  const ReportRead again = read_report(json, "check.json");
  ASSERT_TRUE(again.report) << again.error;
  EXPECT_EQ(*again.report, counting);
  Report judged = *again.report;
  analyze_report(judged);
  EXPECT_EQ(judged.tests[0].leak.verdict, Verdict::leak);
  EXPECT_NE(judged.tests[0].leak.reason.find("app.cpp:7 in keep()"), std::string::npos)
      << judged.tests[0].leak.reason;
  // A report where the sites cover every run does not write the field.
  counting.tests[0].site_runs = 0;
  EXPECT_EQ(to_json(counting).find("site_runs"), std::string::npos);
}

TEST(Merge, TestsOfAReportWithoutStackModeHaveNoSitesRecorded) {
  Report with = report({test("S.a", 1, {run(0, 8, 1)})});
  with.stacks = StacksInfo{32, "libunwind", 10, 0, true};
  Report without = report({test("S.b", 2, {run(0, 8, 1)})});
  MergeResult m = merge_reports({{"with.json", with}, {"without.json", without}}, ConflictPolicy::keep_first);
  ASSERT_EQ(m.report.tests.size(), 2u);
  EXPECT_EQ(m.report.stacks.depth, 32);
  EXPECT_TRUE(m.report.tests[0].sites_recorded);
  EXPECT_FALSE(m.report.tests[1].sites_recorded);
  // Written and read back: the marker survives, and only the marked test carries it.
  const std::string json = to_json(m.report);
  EXPECT_EQ(json.find("\"sites_recorded\": false"), json.rfind("\"sites_recorded\": false"));
  const ReportRead again = read_report(json, "merged.json");
  ASSERT_TRUE(again.report) << again.error;
  EXPECT_EQ(*again.report, m.report);
  ShowOptions o;
  o.sites = "*";
  const std::string shown = render_sites(m.report, o, false);
  EXPECT_NE(shown.find("S.b: clean (low): sites not recorded (it ran without stack mode)"), std::string::npos) << shown;
  // Neither report in stack mode: nothing to mark.
  MergeResult plain = merge_reports({{"a", without}, {"b", report({test("S.c", 3, {run(0, 8, 1)})})}},
                                    ConflictPolicy::keep_first);
  for (const TestRecord& t : plain.report.tests) EXPECT_TRUE(t.sites_recorded);
}

}  // namespace
}  // namespace memx::cli

// A report too large for one page is aggregated: the page lists every flagged test (when
// they are few), the highest of each column, and counts every test in histograms.
TEST(Html, ALargeReportIsAggregatedKeepingWhatNeedsLooking) {
  memx::Report r;
  r.framework = "googletest";
  r.binary = "big_tests";
  r.complete = true;
  r.started_at = "2026-11-30T12:00:00Z";
  r.backend = "mimalloc";
  for (int i = 0; i < 20000; ++i) {
    memx::TestRecord t;
    t.name = "Big.Test" + std::to_string(i);
    memx::RunRecord run;
    run.peak_bytes = 1000 + (i * 7919) % 50000;
    run.allocs = static_cast<std::uint64_t>(10 + i % 300);
    run.duration_ms = 0.01;
    t.runs.push_back(run);
    t.leak.verdict = memx::Verdict::clean;
    if (i % 1000 == 7) t.status = memx::TestStatus::failed;  // 20 flagged tests
    r.tests.push_back(std::move(t));
  }
  r.tests[12345].runs[0].peak_bytes = 10 << 20;  // the highest peak, not flagged
  const std::string page = memx::cli::render_html(r, "t", "", nullptr, "");
  ASSERT_LT(page.size(), std::size_t{4} << 20);
  const std::string start = "<script type=\"application/json\" id=\"memx-report\">";
  const std::size_t from = page.find(start) + start.size();
  const nlohmann::json data = nlohmann::json::parse(page.substr(from, page.find("</script>", from) - from));
  const nlohmann::json& agg = data["page"]["aggregate"];
  ASSERT_TRUE(agg.is_object());
  EXPECT_EQ(agg["total"], 20000);
  EXPECT_EQ(agg["flagged"], 20);
  const auto& listed = data["report"]["tests"];
  EXPECT_LE(listed.size(), std::size_t{2000});
  EXPECT_EQ(agg["listed"], listed.size());
  std::vector<std::string> names;
  for (const auto& t : listed) names.push_back(t["name"]);
  for (int i = 7; i < 20000; i += 1000) {
    EXPECT_NE(std::find(names.begin(), names.end(), "Big.Test" + std::to_string(i)), names.end()) << i;
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "Big.Test12345"), names.end());
  // The indexes say where each listed test is in the report.
  for (std::size_t k = 0; k < listed.size(); ++k) {
    EXPECT_EQ("Big.Test" + std::to_string(agg["indexes"][k].get<int>()), names[k]);
  }
  std::uint64_t counted = 0;
  for (const auto& bucket : agg["histograms"]["peak"]) counted += bucket[2].get<std::uint64_t>();
  EXPECT_EQ(counted, 20000u);
  EXPECT_EQ(agg["counts"]["failed"], 20);
  // A small report is listed whole.
  r.tests.resize(100);
  const std::string small = memx::cli::render_html(r, "t", "", nullptr, "");
  EXPECT_NE(small.find("\"aggregate\":null"), std::string::npos);
}

// ---- read_pair: diff and gate without either report whole ----------------------------------

namespace memx::cli {
namespace {

// `report` written to a temporary file, removed at the end.
class ReportFile {
 public:
  explicit ReportFile(const Report& report) {
    char name[] = "/tmp/memx_pair_XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd >= 0) {
      ::close(fd);
      path_ = name;
      std::string error;
      write_report_atomically(report, path_, &error);
    }
  }
  ~ReportFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A test of random figures, verdict, budget and status (deterministic in `rng`).
TestRecord random_test(std::mt19937_64& rng, const std::string& name) {
  auto pick = [&](std::uint64_t n) { return static_cast<std::int64_t>(rng() % n); };
  std::vector<RunRecord> runs;
  for (std::int64_t k = pick(4); k > 0; --k) {
    RunRecord r = run(pick(3) * 16, 100 + pick(3) * 50, static_cast<std::uint64_t>(10 + pick(3)));
    r.rss_peak_bytes = pick(2) * 4096;
    runs.push_back(r);
  }
  TestRecord t = test(name, static_cast<int>(pick(100)), std::move(runs));
  t.status = static_cast<TestStatus>(pick(3));
  if (pick(3) == 0) t.budget = parse_budget(pick(2) ? "peak=120" : "peak=120, warn").budget;
  return t;
}

// A report of `names`' tests, analysed (violations, verdicts), suppressions of leaks too.
Report random_report(std::mt19937_64& rng, const std::vector<std::string>& names) {
  std::vector<TestRecord> tests;
  for (const std::string& n : names) tests.push_back(random_test(rng, n));
  Report r = report(std::move(tests), {1000, 1100, 1200});
  for (TestRecord& t : r.tests) {
    if (t.leak.verdict == Verdict::leak && rng() % 4 == 0) t.leak.suppressed_by = "leak:x";
  }
  return r;
}

// What diff and gate read of one test's comparison.
std::string facts(const TestDiff& d) {
  auto figures = [](const std::optional<TestFigures>& f) {
    return f ? fmt::format("{}/{}/{}/{}/{}/{}", f->peak_bytes, f->net_bytes, f->net_blocks, f->allocs,
                           f->rss_peak_bytes, f->runs)
             : std::string("-");
  };
  auto side = [](const TestRecord* t) {
    return t ? fmt::format("{}/{}/{}/{}/{}/{}/{}", to_string(t->status), to_string(t->leak.verdict),
                           to_string(t->leak.confidence), t->leak.bytes_per_run, t->leak.blocks_per_run,
                           t->leak.suppressed_by, gated_violations(*t))
             : std::string("-");
  };
  return fmt::format("{} {} {} {} {} {}{}{}{}{}{}", d.label(), figures(d.base_figures()), figures(d.now_figures()),
                     side(d.base), side(d.now), d.added(), d.removed(), d.newly_leaks(), d.leak_fixed(),
                     d.newly_over_budget(), d.changed());
}

// The pair holds every test of the comparison that diff or gate can name, as the whole
// reports have it; those left out are the same on both sides, and counted.
TEST(ReadPair, KeepsEveryTestThatDiffersAsTheWholeReportsHaveIt) {
  std::mt19937_64 rng(20261201);
  std::size_t kept_total = 0, same_total = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<std::string> base_names, now_names;
    for (int i = 0; i < 60; ++i) {
      const std::string name = "Suite.Test" + std::to_string(i);
      if (rng() % 10 != 0) base_names.push_back(name);  // some only in the new report
      if (rng() % 10 != 0) now_names.push_back(name);   // some only in the baseline
    }
    std::shuffle(now_names.begin(), now_names.end(), rng);
    const Report base = random_report(rng, base_names);
    Report now = random_report(rng, now_names);
    // Most tests as in the baseline (a copy of its record), so that many are the same.
    for (TestRecord& t : now.tests) {
      const auto b = std::find_if(base.tests.begin(), base.tests.end(), [&](const TestRecord& x) { return x.name == t.name; });
      if (b != base.tests.end() && rng() % 3 != 0) t = *b;
    }
    if (round % 5 == 0) now.complete = false;
    const ReportFile base_file(base), now_file(now);
    std::ostringstream notes_whole, notes_pair;
    const Report base_whole = read_one_report({base_file.path()}, notes_whole, "base");
    const Report now_whole = read_one_report({now_file.path()}, notes_whole, "new");
    PairHooks hooks;
    hooks.places = true;
    const std::optional<ReportPair> pair = read_pair({base_file.path()}, {now_file.path()}, notes_pair, hooks);
    ASSERT_TRUE(pair.has_value());
    EXPECT_EQ(notes_pair.str(), notes_whole.str());
    EXPECT_EQ(pair->base_tests, base.tests.size());
    EXPECT_EQ(pair->now_tests, now.tests.size());
    EXPECT_EQ(pair->now.complete, now.complete);

    const std::vector<TestDiff> whole = diff_reports(base_whole, now_whole);
    const std::vector<TestDiff> kept = diff_reports(pair->base, pair->now);
    std::vector<std::string> expected;
    std::size_t same = 0;
    for (const TestDiff& d : whole) {
      const bool differs = d.added() || d.removed() || d.changed() || d.newly_leaks() || d.leak_fixed() ||
                           d.newly_over_budget() || d.base_figures()->rss_peak_bytes != d.now_figures()->rss_peak_bytes ||
                           d.now->leak.verdict == Verdict::leak || gated_violations(*d.base) != gated_violations(*d.now) ||
                           d.base->leak.reported_leak() != d.now->leak.reported_leak();
      if (differs) {
        expected.push_back(facts(d));
      } else {
        ++same;
      }
    }
    std::vector<std::string> got;
    for (const TestDiff& d : kept) got.push_back(facts(d));
    EXPECT_EQ(got, expected);
    EXPECT_EQ(pair->same, same);
    EXPECT_EQ(pair->same + kept.size(), whole.size());
    // The gate finds the same regressions, in the same order.
    GateRules rules;
    rules.rss = Tolerance{true, std::nullopt, 0};
    std::vector<std::string> whole_messages, kept_messages;
    for (const Regression& r : find_regressions(whole, rules)) whole_messages.push_back(r.message);
    for (const Regression& r : find_regressions(kept, rules)) kept_messages.push_back(r.message);
    EXPECT_EQ(kept_messages, whole_messages);
    // --junit lists every test: those left out in their places.
    EXPECT_EQ(pair->left_out.size(), pair->same);
    GateJunitFacts junit_facts;
    for (const TestDiff& d : whole) {
      if (d.removed()) junit_facts.missing.push_back(d.label());
    }
    EXPECT_EQ(gate_junit(kept, group_by_test(find_regressions(kept, rules)), junit_facts, pair->left_out),
              gate_junit(whole, group_by_test(find_regressions(whole, rules)), junit_facts));
    kept_total += kept.size();
    same_total += same;
  }
  EXPECT_GT(kept_total, 500u);
  EXPECT_GT(same_total, 300u);
}

// Several files, or tests of several binaries: the reports are read whole (nullopt).
TEST(ReadPair, SeveralFilesOrBinariesAreReadWhole) {
  std::mt19937_64 rng(7);
  const Report base = random_report(rng, {"A.a", "A.b"});
  Report other = random_report(rng, {"A.a", "A.c"});
  const ReportFile base_file(base), now_file(other);
  std::ostringstream notes;
  EXPECT_FALSE(read_pair({base_file.path(), now_file.path()}, {now_file.path()}, notes).has_value());
  EXPECT_FALSE(read_pair({base_file.path()}, {now_file.path(), base_file.path()}, notes).has_value());
  other.tests[1].binary = "other_bin";
  const ReportFile binaries_file(other);
  EXPECT_FALSE(read_pair({base_file.path()}, {binaries_file.path()}, notes).has_value());
  EXPECT_FALSE(read_pair({binaries_file.path()}, {base_file.path()}, notes).has_value());
  EXPECT_TRUE(read_pair({base_file.path()}, {now_file.path()}, notes).has_value());
  // A path that is not there: left to the whole reading, which names it in its order.
  EXPECT_FALSE(read_pair({base_file.path()}, {base_file.path() + ".missing"}, notes).has_value());
  // An unusable report: read_report_file's message.
  Report bad = base;
  bad.tests.push_back(bad.tests.front());  // a test twice
  const ReportFile bad_file(bad);
  try {
    read_pair({base_file.path()}, {bad_file.path()}, notes);
    ADD_FAILURE() << "a report with a test twice was read";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), read_report_file(bad_file.path()).error);
  }
}

}  // namespace
}  // namespace memx::cli
