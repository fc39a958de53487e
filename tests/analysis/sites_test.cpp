// Allocation sites in a report: folding system frames, the JSON form (golden file, version 1
// still read, bad input), and the leak rule by site (docs/leak-verdicts.md, "By site").
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memx/report.hpp"
#include "memx/sites.hpp"

namespace {

memx::FrameRecord frame(std::string function, std::string file, int line,
                        std::string module = "/work/app/tests/parser_test") {
  memx::FrameRecord f;
  f.function = std::move(function);
  f.file = std::move(file);
  f.line = line;
  f.module = std::move(module);
  f.offset = 0x1234;
  return f;
}

/// A stack as libdw gives it for `std::vector<Widget*>::push_back(new Widget)` at
/// parser_test.cpp:42, called by GoogleTest.
std::vector<memx::FrameRecord> user_stack() {
  return {frame("std::__new_allocator<Widget*>::allocate(unsigned long, void const*)",
                "/usr/include/c++/12/bits/new_allocator.h", 137),
          frame("void std::vector<Widget*, std::allocator<Widget*> >::_M_realloc_insert<Widget*>("
                "__gnu_cxx::__normal_iterator<Widget**, std::vector<Widget*> >, Widget*&&)",
                "/usr/include/c++/12/bits/vector.tcc", 453),
          frame("Parser_Keeps_Test::TestBody()", "/work/app/tests/parser_test.cpp", 42),
          frame("void testing::internal::HandleExceptionsInMethodIfSupported<testing::Test, void>("
                "testing::Test*, void (testing::Test::*)(), char const*)",
                "", 0, "/usr/lib/x86_64-linux-gnu/libgtest.so.1.12.1")};
}

memx::SiteRecord site(std::vector<std::int64_t> blocks_per_run, std::int64_t bytes_per_block = 16) {
  memx::SiteRecord s;
  for (const std::int64_t b : blocks_per_run) {
    s.runs.push_back(memx::SiteRun{b * bytes_per_block, b});
    s.bytes += b * bytes_per_block;
    s.blocks += b;
  }
  s.frames = user_stack();
  s.user_frame = memx::first_user_frame(s.frames);
  return s;
}

memx::TestRecord test_with(std::vector<std::int64_t> net_blocks, std::vector<memx::SiteRecord> sites,
                           memx::Verdict verdict) {
  memx::TestRecord t;
  t.name = "Parser.Keeps";
  for (const std::int64_t b : net_blocks) {
    memx::RunRecord r;
    r.net_blocks = b;
    r.net_bytes = 16 * b;
    t.runs.push_back(r);
  }
  t.leak.verdict = verdict;
  t.leak.confidence = memx::Confidence::high;
  t.leak.reason = "from the figures";
  t.sites = std::move(sites);
  return t;
}

memx::StacksInfo info(bool final, std::uint64_t dropped = 0) {
  memx::StacksInfo i;
  i.depth = 32;
  i.unwinder = "libunwind";
  i.final = final;
  i.dropped = dropped;
  return i;
}

TEST(Sites, FoldsTheStandardLibraryAndTheFrameworkDownToTheUsersLine) {
  const std::vector<memx::FrameRecord> s = user_stack();
  EXPECT_TRUE(memx::is_system_frame(s[0]));
  EXPECT_TRUE(memx::is_system_frame(s[1]));  // a template's name starts with its return type
  EXPECT_FALSE(memx::is_system_frame(s[2]));
  EXPECT_TRUE(memx::is_system_frame(s[3]));
  EXPECT_EQ(memx::first_user_frame(s), 2);
  EXPECT_FALSE(memx::framework_own(s));
  EXPECT_TRUE(memx::is_system_frame(frame("operator new(unsigned long)", "", 0)));
  EXPECT_TRUE(memx::is_system_frame(
      frame("std::__cxx11::basic_string<char>::_M_construct(unsigned long, char)", "", 0,
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6")));
  EXPECT_TRUE(memx::is_system_frame(frame("operator()", "../../catch2_plugin/listener.cpp", 204)));
  // memx::count_malloc's C allocation functions live in the user's program, with lines.
  EXPECT_TRUE(memx::is_system_frame(frame("posix_memalign", "src/alloc/malloc.cpp", 280)));
  EXPECT_TRUE(memx::is_system_frame(frame("calloc", "/work/memx/src/alloc/malloc.cpp", 250)));
  EXPECT_FALSE(memx::is_system_frame(frame("malloc_twice()", "/work/app/src/pool.cpp", 12)));
  // A function of the user's named like a library's is not folded.
  EXPECT_FALSE(memx::is_system_frame(frame("standard::make()", "/work/app/src/standard.cpp", 3)));
  // Where the file is known it decides: GoogleMock's own tests live in namespace testing.
  EXPECT_FALSE(memx::is_system_frame(
      frame("testing::gmock_nice_strict_test::NiceMockTest_AllowLeak_Test::TestBody()",
            "/usr/src/googletest/googlemock/test/gmock-nice-strict_test.cc", 295)));
  EXPECT_TRUE(memx::is_system_frame(
      frame("testing::internal::UnitTestImpl::RunAllTests()", "./googletest/src/gtest.cc", 5870)));
  EXPECT_TRUE(memx::is_system_frame(frame("testing::Test::Run()", "", 0)));
}

TEST(Sites, AStackOfTheFrameworkAloneIsTheFrameworksOwn) {
  const std::vector<memx::FrameRecord> reporter = {
      frame("std::__new_allocator<Catch::AssertionStats>::allocate(unsigned long, void const*)",
            "/usr/include/c++/12/bits/new_allocator.h", 137),
      frame("Catch::JunitReporter::assertionEnded(Catch::AssertionStats const&)",
            "/usr/include/catch2/catch.hpp", 16893)};
  EXPECT_TRUE(memx::framework_own(reporter));
  EXPECT_EQ(memx::first_user_frame(reporter), 0);  // nothing of the user's: shown whole
  // GoogleTest's fixture base, constructed for every test, allocates its flag saver.
  EXPECT_TRUE(memx::framework_own(
      {frame("testing::Test::Test()", "", 0, "/usr/lib/x86_64-linux-gnu/libgtest.so.1.12.1"),
       frame("Parser_Keeps_Test::Parser_Keeps_Test()", "/work/app/tests/parser_test.cpp", 40)}));
  // The runtime alone (a stack cut short by the depth) is not said to be the framework's.
  EXPECT_FALSE(memx::framework_own({reporter[0]}));
}

TEST(Sites, LocationNamesTheUsersLineOrTheModuleAndOffset) {
  memx::SiteRecord s = site({1});
  EXPECT_EQ(memx::site_location(s), "/work/app/tests/parser_test.cpp:42 in Parser_Keeps_Test::TestBody()");
  s.frames = {frame("", "", 0, "/opt/vendor/libcodec.so")};
  s.frames[0].note = "no symbols or debug information";
  s.user_frame = 0;
  EXPECT_EQ(memx::site_location(s), "/opt/vendor/libcodec.so+0x1234 (no symbols or debug information)");
  s.frames = {frame("C_A_T_C_H_T_E_S_T_7", "/work/app/tests/parser_test.cpp", 9)};
  EXPECT_EQ(memx::site_location(s), "/work/app/tests/parser_test.cpp:9 in the TEST_CASE");
  // Catch2 3's names: a TEST_CASE's function, a TEST_CASE_METHOD's.
  s.frames = {frame("CATCH2_INTERNAL_TEST_7()", "/work/app/tests/parser_test.cpp", 9)};
  EXPECT_EQ(memx::site_location(s), "/work/app/tests/parser_test.cpp:9 in the TEST_CASE");
  s.frames = {frame("(anonymous namespace)::CATCH2_INTERNAL_TEST_12::test()",
                    "/work/app/tests/parser_test.cpp", 21)};
  EXPECT_EQ(memx::site_location(s), "/work/app/tests/parser_test.cpp:21 in the TEST_CASE");
  // Allocated in a helper of the user's: the test's own line follows.
  s.frames = {frame("Owner::Owner()", "/work/app/src/owner.hpp", 12),
              frame("std::make_shared<Owner>()", "/usr/include/c++/12/bits/shared_ptr.h", 1010),
              frame("Owner_Test::TestBody()", "/work/app/tests/owner_test.cpp", 30)};
  EXPECT_EQ(memx::site_location(s, "/work/app/tests/owner_test.cpp"),
            "/work/app/src/owner.hpp:12 in Owner::Owner(), called from "
            "/work/app/tests/owner_test.cpp:30 in Owner_Test::TestBody()");
  EXPECT_EQ(memx::site_location(s), "/work/app/src/owner.hpp:12 in Owner::Owner()");
}

TEST(Sites, SortedByRepetitionsThenBytes) {
  std::vector<memx::SiteRecord> v = {site({1, 0, 0, 0}, 4096), site({1, 1, 1, 1}, 8), site({0, 0, 0, 1}, 64)};
  memx::sort_sites(v);
  EXPECT_EQ(v[0].bytes, 32);  // kept from 3 measured repetitions
  EXPECT_EQ(v[1].bytes, 64);  // from 1
  EXPECT_EQ(v[2].bytes, 4096);  // the warm-up's only
}

TEST(Sites, ASiteKeptFromEveryRepetitionIsTheLeakAndItsLineIsNamed) {
  memx::TestRecord t = test_with({1, 1, 1, 1, 1}, {site({1, 1, 1, 1, 1})}, memx::Verdict::leak);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::leak);
  EXPECT_EQ(t.leak.confidence, memx::Confidence::high);  // the figures' confidence stays
  EXPECT_NE(t.leak.reason.find("every repetition leaves blocks live at /work/app/tests/parser_test.cpp:42 "
                               "in Parser_Keeps_Test::TestBody() (16 B in 1 block per repetition, "
                               "still live at the end of the run)"),
            std::string::npos)
      << t.leak.reason;
}

TEST(Sites, TheUsersOwnNewIsNamedBeforeWhatTheLibraryKeepsForIt) {
  // A leaked mock: its EXPECT_CALL's records (bigger, allocated inside the library) and the
  // `new` of the mock itself.
  memx::SiteRecord held = site({1, 1, 1, 1, 1}, 320);
  held.frames[2].line = 44;
  memx::SiteRecord direct = site({1, 1, 1, 1, 1}, 64);
  direct.frames.erase(direct.frames.begin(), direct.frames.begin() + 2);  // TestBody calls new
  direct.user_frame = memx::first_user_frame(direct.frames);
  ASSERT_EQ(direct.user_frame, 0);
  memx::TestRecord t = test_with({2, 2, 2, 2, 2}, {held, direct}, memx::Verdict::leak);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_NE(t.leak.reason.find("parser_test.cpp:42 in Parser_Keeps_Test::TestBody() (64 B in 1 block "
                               "per repetition, still live at the end of the run), and at 1 more site"),
            std::string::npos)
      << t.leak.reason;
}

TEST(Sites, AGrowingSuspectWithASiteKeptEveryRepetitionIsALeak) {
  // Varying amounts (a suspect by the figures), but the same site keeps blocks every time.
  memx::TestRecord t = test_with({1, 2, 1, 3, 1}, {site({1, 2, 1, 3, 1})}, memx::Verdict::suspect);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::leak);
  EXPECT_EQ(t.leak.confidence, memx::Confidence::medium);
  EXPECT_DOUBLE_EQ(t.leak.blocks_per_run, 7.0 / 4);
}

TEST(Sites, ACleanVerdictIsNeverMadeALeak) {
  // A bounded cache that replaces its oldest entry: blocks from every repetition are live,
  // but nothing grows.
  memx::TestRecord t = test_with({1, 0, 0, 0, 0}, {site({1, 1, 1, 1, 1})}, memx::Verdict::clean);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::clean);
}

TEST(Sites, GrowthFreedLaterInTheRunIsAHandoff) {
  memx::TestRecord t = test_with({1, 1, 1, 1, 1}, {site({1, 0, 0, 0, 0})}, memx::Verdict::leak);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::clean);
  EXPECT_NE(t.leak.reason.find("freed later in the run"), std::string::npos);
}

TEST(Sites, WhileTheRunGoesOnTheLastRepetitionsBlocksAreNotJudgedYet) {
  // The last repetition's block is still live (the consumer test has not run yet); the
  // earlier ones were all freed.
  memx::TestRecord t = test_with({1, 1, 1, 1, 1}, {site({1, 0, 0, 0, 1})}, memx::Verdict::leak);
  memx::refine_leak_by_sites(t, info(false));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::clean);
  // Final, the same live block means the last repetition kept it: not a handoff.
  memx::TestRecord f = test_with({1, 1, 1, 1, 1}, {site({1, 0, 0, 0, 1})}, memx::Verdict::leak);
  memx::refine_leak_by_sites(f, info(true));
  EXPECT_EQ(f.leak.verdict, memx::Verdict::leak);
  EXPECT_NE(f.leak.reason.find("its last repetition's blocks are live at /work/app/tests/parser_test.cpp:42"),
            std::string::npos)
      << f.leak.reason;
}

TEST(Sites, GrowthInPlaceIsNotAHandoff) {
  // A buffer reallocated bigger every repetition: no block is added, the newest is live.
  memx::TestRecord t = test_with({0, 0, 0, 0, 0}, {site({0, 0, 0, 0, 1}, 4096)}, memx::Verdict::leak);
  for (memx::RunRecord& r : t.runs) r.net_bytes = 1024;
  memx::refine_leak_by_sites(t, info(false));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::leak);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::leak);
}

TEST(Sites, DroppedRecordsForbidTheHandoffRule) {
  memx::TestRecord t = test_with({1, 1, 1, 1, 1}, {site({1, 0, 0, 0, 0})}, memx::Verdict::leak);
  memx::refine_leak_by_sites(t, info(true, /*dropped=*/3));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::leak);
}

TEST(Sites, ACleanTestNamesItsOneTimeSite) {
  memx::TestRecord t = test_with({256, 0, 0, 0, 0}, {site({1, 0, 0, 0, 0}, 4096)}, memx::Verdict::clean);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_EQ(t.leak.verdict, memx::Verdict::clean);
  EXPECT_NE(t.leak.reason.find("; the warm-up's 4 KiB in 1 block stay live at "
                               "/work/app/tests/parser_test.cpp:42 in Parser_Keeps_Test::TestBody() (made once)"),
            std::string::npos)
      << t.leak.reason;
}

TEST(Sites, NothingChangesWithoutSitesOrStackMode) {
  memx::TestRecord t = test_with({1, 1, 1, 1, 1}, {}, memx::Verdict::leak);
  memx::refine_leak_by_sites(t, info(true));
  EXPECT_EQ(t.leak.reason, "from the figures");
  memx::TestRecord u = test_with({1, 1, 1, 1, 1}, {site({1, 0, 0, 0, 0})}, memx::Verdict::leak);
  memx::refine_leak_by_sites(u, memx::StacksInfo{});
  EXPECT_EQ(u.leak.verdict, memx::Verdict::leak);
}

// --- The JSON form --------------------------------------------------------------------

std::string golden_path() { return std::string(MEMX_ANALYSIS_GOLDEN_DIR) + "/report_sites.json"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

memx::Report sites_report() {
  memx::Report r;
  r.framework = "googletest";
  r.binary = "/work/app/build/parser_test";
  r.pid = 4242;
  r.complete = true;
  r.repetitions = 3;
  r.started_at = "2026-11-30T10:00:00Z";
  r.finished_at = "2026-11-30T10:00:01Z";
  r.backend = "mimalloc";
  r.stacks = info(true);
  r.iteration_end_live_bytes = {100, 116, 132};
  memx::TestRecord t = test_with({1, 1, 1}, {site({1, 1, 1})}, memx::Verdict::leak);
  t.file = "/work/app/tests/parser_test.cpp";
  t.line = 40;
  t.sites[0].frames[1].inlined = true;
  t.sites[0].frames[3].note = "no debug information";
  for (memx::RunRecord& run : t.runs) run.peak_bytes = 262144 + 64;
  memx::SiteRecord peak = site({}, 0);
  peak.bytes = 262144;
  peak.blocks = 1;
  t.peak_sites.push_back(peak);
  r.tests.push_back(t);
  memx::analyze_report(r);
  return r;
}

TEST(SitesReport, MatchesGoldenFile) {
  const std::string text = memx::to_json(sites_report());
  if (std::getenv("MEMX_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path(), std::ios::binary) << text;
  }
  EXPECT_EQ(text, read_file(golden_path())) << "regenerate with MEMX_UPDATE_GOLDEN=1 after an intended format change";
}

TEST(SitesReport, GoldenFileReadsBackEqual) {
  const memx::ReportRead read = memx::read_report(read_file(golden_path()), "report_sites.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, sites_report());
  EXPECT_EQ(read.report->tests[0].leak.verdict, memx::Verdict::leak);
  EXPECT_NE(read.report->tests[0].leak.reason.find("parser_test.cpp:42"), std::string::npos);
}

TEST(SitesReport, WithoutStackModeNoStacksAndNoSitesAreWritten) {
  memx::Report r = sites_report();
  r.stacks = memx::StacksInfo{};
  const std::string text = memx::to_json(r);
  EXPECT_EQ(text.find("\"stacks\""), std::string::npos);
  EXPECT_EQ(text.find("\"sites\""), std::string::npos);
}

TEST(SitesReport, EachStackAndFrameIsWrittenOnce) {
  const std::string text = memx::to_json(sites_report());
  // The leak site's stack and the peak site's share two of their four frames (the other two
  // differ: inlined, a note): two stacks, six frames, each written once.
  std::size_t functions = 0;
  for (std::size_t at = text.find("\"function\""); at != std::string::npos; at = text.find("\"function\"", at + 1)) {
    ++functions;
  }
  EXPECT_EQ(functions, 6u);
}

TEST(SitesReport, InlineFramesAreReadToo) {
  // A site may carry its frames itself (the form hand-written reports use).
  std::string text = memx::to_json(sites_report());
  const memx::ReportRead golden = memx::read_report(text, "sites.json");
  ASSERT_TRUE(golden.report.has_value());
  const std::size_t st = text.find("\"stack\": 0");
  ASSERT_NE(st, std::string::npos);
  const std::string frame = "{\"function\": \"f\", \"file\": \"a.cpp\", \"line\": 3, \"module\": \"m\", \"offset\": 16}";
  text.replace(st, 10, "\"frames\": [" + frame + ", " + frame + ", " + frame + "]");
  const memx::ReportRead read = memx::read_report(text, "sites.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  ASSERT_EQ(read.report->tests[0].sites[0].frames.size(), 3u);
  EXPECT_EQ(read.report->tests[0].sites[0].frames[0].file, "a.cpp");
}

TEST(SitesReport, Versions1And2StillRead) {
  for (const char* older : {"\"version\": 1", "\"version\": 2"}) {
    std::string text = read_file(std::string(MEMX_ANALYSIS_GOLDEN_DIR) + "/report_basic.json");
    const std::size_t at = text.find("\"version\": 3");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 12, older);
    // Without the members version 3 added: each violation counts as enforced.
    for (std::size_t e = text.find(",\n          \"enforced\": true"); e != std::string::npos;
         e = text.find(",\n          \"enforced\": true")) {
      text.erase(e, std::string(",\n          \"enforced\": true").size());
    }
    const memx::ReportRead read = memx::read_report(text, "old.json");
    ASSERT_TRUE(read.report.has_value()) << read.error;
    EXPECT_EQ(read.report->stacks.depth, 0);
    ASSERT_FALSE(read.report->tests[1].violations.empty());
    EXPECT_TRUE(read.report->tests[1].violations[0].enforced);
  }
}

TEST(SitesReport, BadSitesAreRejectedWithTheirPath) {
  std::string text = read_file(golden_path());
  const std::size_t at = text.find("\"user_frame\": 2");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 15, "\"user_frame\": 9");
  const memx::ReportRead read = memx::read_report(text, "sites.json");
  ASSERT_FALSE(read.report.has_value());
  EXPECT_EQ(read.error, "sites.json: tests[0].sites[0].user_frame: frame 9 of a stack of 4 frames");
  std::string bad_stack = read_file(golden_path());
  const std::size_t st = bad_stack.find("\"stack\": 0");
  ASSERT_NE(st, std::string::npos);
  bad_stack.replace(st, 10, "\"stack\": 7");
  const memx::ReportRead r1 = memx::read_report(bad_stack, "sites.json");
  ASSERT_FALSE(r1.report.has_value());
  EXPECT_EQ(r1.error, "sites.json: tests[0].sites[0].stack: stack 7 is not in stack_table (2 stacks)");
  std::string neg = read_file(golden_path());
  const std::size_t b = neg.find("\"blocks\": 3");
  ASSERT_NE(b, std::string::npos);
  neg.replace(b, 11, "\"blocks\": -3");
  const memx::ReportRead r2 = memx::read_report(neg, "sites.json");
  ASSERT_FALSE(r2.report.has_value());
  EXPECT_NE(r2.error.find("tests[0].sites[0].blocks: integer -3 is out of range"), std::string::npos) << r2.error;
}

}  // namespace
