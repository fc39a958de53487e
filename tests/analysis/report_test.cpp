// The JSON report: golden file, round trip, and every rejection of bad input.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <limits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "memx/report.hpp"

namespace {

using nlohmann::json;

memx::RunRecord run(std::int64_t net_bytes, std::int64_t net_blocks, std::int64_t peak,
                    std::uint64_t allocs, std::int64_t rss, double ms) {
  memx::RunRecord r;
  r.net_bytes = net_bytes;
  r.net_blocks = net_blocks;
  r.peak_bytes = peak;
  r.allocs = allocs;
  r.rss_peak_bytes = rss;
  r.duration_ms = ms;
  return r;
}

memx::TestRecord test(std::string name, int line, memx::TestStatus status,
                      std::vector<memx::RunRecord> runs, const char* budget) {
  memx::TestRecord t;
  t.name = std::move(name);
  t.file = line > 0 ? "tests/parser_test.cpp" : "";
  t.line = line;
  t.status = status;
  t.runs = std::move(runs);
  if (budget != nullptr) t.budget = memx::parse_budget(budget).budget;
  return t;
}

// A GoogleTest run with --gtest_repeat=5: a static cache, a real 16-byte leak, a handoff
// pair and a skipped test whose name needs escaping.
memx::Report basic_report() {
  memx::Report r;
  r.framework = "googletest";
  r.binary = "/work/build/tests/parser_tests";
  r.pid = 4242;
  r.complete = true;
  r.repetitions = 5;
  r.started_at = "2024-05-01T12:00:00Z";
  r.finished_at = "2024-05-01T12:00:03Z";
  r.backend = "mimalloc";
  r.iteration_end_live_bytes = {1048576, 1048592, 1048608, 1048624, 1048640};
  const memx::RunRecord quiet = run(0, 0, 2048, 12, 0, 0.5);
  r.tests.push_back(test("Parser.ParsesEmptyInput", 12, memx::TestStatus::passed,
                         {run(4096, 3, 8192, 40, 4096, 1.25), quiet, quiet, quiet, quiet},
                         "peak=64KiB, allocs=100"));
  r.tests.push_back(test("Parser.LeaksOneNode", 30, memx::TestStatus::failed,
                         std::vector<memx::RunRecord>(5, run(16, 1, 64, 2, 0, 0.125)),
                         "peak=32, net=0"));
  r.tests.push_back(test("Queue.Producer", 44, memx::TestStatus::passed,
                         std::vector<memx::RunRecord>(5, run(96, 1, 96, 1, 0, 0.25)), nullptr));
  r.tests.push_back(test("Queue.Consumer", 51, memx::TestStatus::passed,
                         std::vector<memx::RunRecord>(5, run(-96, -1, 0, 0, 0, 0.25)), nullptr));
  r.tests.push_back(
      test("Parser.Slow/\"quoted\" \\ \xc3\xbc", 0, memx::TestStatus::skipped, {}, "rss=1GiB"));
  memx::analyze_report(r);
  return r;
}

std::string golden_path() {
  return std::string(MEMX_ANALYSIS_GOLDEN_DIR) + "/report_basic.json";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Report, AnalysisFillsViolationsAndVerdicts) {
  const memx::Report r = basic_report();
  EXPECT_TRUE(r.tests[0].violations.empty());
  EXPECT_EQ(r.tests[0].leak.verdict, memx::Verdict::clean);
  ASSERT_EQ(r.tests[1].violations.size(), 2u);
  EXPECT_EQ(r.tests[1].violations[0],
            (memx::ViolationRecord{"peak", 64, 32, "peak 64 B exceeds budget 32 B (+32 B)"}));
  EXPECT_EQ(r.tests[1].violations[1],
            (memx::ViolationRecord{"net", 16, 0, "net 16 B exceeds budget 0 B (+16 B)"}));
  EXPECT_EQ(r.tests[1].leak.verdict, memx::Verdict::leak);
  EXPECT_EQ(r.tests[1].leak.confidence, memx::Confidence::high);
  EXPECT_EQ(r.tests[2].leak.verdict, memx::Verdict::suspect);
  EXPECT_EQ(r.tests[3].leak.verdict, memx::Verdict::clean);
  EXPECT_EQ(r.tests[4].leak.verdict, memx::Verdict::unknown);
  EXPECT_TRUE(r.tests[4].violations.empty());
}

TEST(Report, BudgetIsCheckedAgainstTheWorstRunOfEachKey) {
  memx::Report r;
  r.tests.push_back(test("T.t", 1, memx::TestStatus::passed,
                         {run(0, 0, 100, 5, 0, 1), run(10, 1, 50, 50, 0, 1)},
                         "peak=80 allocs=40 net=10"));
  memx::analyze_report(r);
  ASSERT_EQ(r.tests[0].violations.size(), 2u);
  EXPECT_EQ(r.tests[0].violations[0].key, "peak");
  EXPECT_EQ(r.tests[0].violations[0].measured, 100);
  EXPECT_EQ(r.tests[0].violations[1].key, "allocs");
  EXPECT_EQ(r.tests[0].violations[1].measured, 50);
}

TEST(Report, MatchesGoldenFile) {
  const std::string text = memx::to_json(basic_report());
  if (std::getenv("MEMX_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path(), std::ios::binary) << text;
  }
  EXPECT_EQ(text, read_file(golden_path()))
      << "regenerate with MEMX_UPDATE_GOLDEN=1 after an intended format change (and bump "
         "kReportVersion if readers of version 1 cannot read it)";
}

TEST(Report, GoldenFileReadsBackEqual) {
  const memx::ReportRead read = memx::read_report(read_file(golden_path()), "report_basic.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, basic_report());
}

// The same kind of run under Valgrind, which replaced memx's operator new: every test is
// recorded without figures, and the report says so (optional members "tool", "measured").
memx::Report unmeasured_report() {
  memx::Report r;
  r.framework = "googletest";
  r.binary = "/work/build/tests/parser_tests";
  r.pid = 4243;
  r.complete = true;
  r.repetitions = 1;
  r.started_at = "2024-05-01T12:00:00Z";
  r.finished_at = "2024-05-01T12:00:09Z";
  r.backend = "system";
  r.tool = "Valgrind";
  r.measured = false;
  r.tests.push_back(test("Parser.ParsesEmptyInput", 12, memx::TestStatus::passed, {},
                         "peak=64KiB, allocs=0"));
  r.tests.push_back(test("Queue.Producer", 44, memx::TestStatus::passed, {}, nullptr));
  memx::analyze_report(r);
  return r;
}

std::string unmeasured_golden_path() {
  return std::string(MEMX_ANALYSIS_GOLDEN_DIR) + "/report_unmeasured.json";
}

TEST(Report, UnmeasuredMatchesGoldenFile) {
  const std::string text = memx::to_json(unmeasured_report());
  if (std::getenv("MEMX_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(unmeasured_golden_path(), std::ios::binary) << text;
  }
  EXPECT_EQ(text, read_file(unmeasured_golden_path()));
}

TEST(Report, UnmeasuredGoldenFileReadsBackEqual) {
  const memx::ReportRead read =
      memx::read_report(read_file(unmeasured_golden_path()), "report_unmeasured.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(read.report->tool, "Valgrind");
  EXPECT_FALSE(read.report->measured);
  EXPECT_EQ(*read.report, unmeasured_report());
}

TEST(Report, AReportWithoutToolOrMeasuredIsAnOrdinaryMeasuredOne) {
  // Reports written before the members existed, and every report of a run without a tool.
  const std::string text = read_file(golden_path());
  EXPECT_EQ(text.find("\n  \"tool\": "), std::string::npos);
  EXPECT_EQ(text.find("\n  \"measured\": "), std::string::npos);
  const memx::ReportRead read = memx::read_report(text, "report_basic.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(read.report->tool, "");
  EXPECT_TRUE(read.report->measured);
}

TEST(Report, NothingIsJudgedInAnUnmeasuredReport) {
  // Figures that were not taken pass no budget and give no leak verdict, even if a run
  // full of zeros got in (an older writer, a hand-edited file).
  memx::Report r = basic_report();
  r.measured = false;
  memx::analyze_report(r);
  for (const memx::TestRecord& t : r.tests) {
    EXPECT_TRUE(t.violations.empty()) << t.name;
    EXPECT_EQ(t.leak.verdict, memx::Verdict::unknown) << t.name;
    EXPECT_EQ(t.leak.reason, "not measured") << t.name;
  }
}

TEST(Report, RoundTrip) {
  memx::Report r = basic_report();
  r.complete = false;
  r.finished_at.clear();
  r.tests[0].runs[0].duration_ms = 0.1;  // not exact in binary: must still round-trip
  r.tests[1].leak.bytes_per_run = 1.0 / 3.0;
  const memx::ReportRead read = memx::read_report(memx::to_json(r), "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(read.error, "");
  EXPECT_EQ(*read.report, r);
}

TEST(Report, EmptyReportRoundTrips) {
  const memx::Report r;
  const memx::ReportRead read = memx::read_report(memx::to_json(r), "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
}

TEST(Report, InvalidUtf8InNamesIsReplacedNotThrown) {
  memx::Report r;
  r.tests.push_back(test("Bad.\xff\xfe", 1, memx::TestStatus::passed, {}, nullptr));
  std::string text;
  ASSERT_NO_THROW(text = memx::to_json(r));
  const memx::ReportRead read = memx::read_report(text, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(read.report->tests[0].name, "Bad.\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Report, StatusStrings) {
  for (memx::TestStatus s :
       {memx::TestStatus::passed, memx::TestStatus::failed, memx::TestStatus::skipped}) {
    memx::TestStatus back = memx::TestStatus::passed;
    EXPECT_TRUE(memx::from_string(memx::to_string(s), back));
    EXPECT_EQ(back, s);
  }
  memx::TestStatus untouched = memx::TestStatus::failed;
  EXPECT_FALSE(memx::from_string("ok", untouched));
  EXPECT_EQ(untouched, memx::TestStatus::failed);
}

// ---- rejections --------------------------------------------------------------------------

json golden_json() {
  return json::parse(memx::to_json(basic_report()));
}

std::string error_for(const json& doc) {
  const memx::ReportRead read = memx::read_report(doc.dump(), "report.json");
  EXPECT_FALSE(read.report.has_value());
  return read.error;
}

std::string error_for_text(const std::string& text) {
  const memx::ReportRead read = memx::read_report(text, "report.json");
  EXPECT_FALSE(read.report.has_value());
  return read.error;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

TEST(ReadReport, RejectsNonJsonWithPosition) {
  EXPECT_EQ(error_for_text("{\"format\": memx}"),
            "report.json: invalid JSON at byte 12 (line 1, column 12): syntax error while parsing "
            "value - invalid literal; last read: '\"format\": m'");
}

TEST(ReadReport, RejectsTruncatedFile) {
  const std::string text = memx::to_json(basic_report());
  const std::string error = error_for_text(text.substr(0, text.size() / 2));
  EXPECT_TRUE(starts_with(error, "report.json: truncated JSON at byte ")) << error;
}

TEST(ReadReport, EveryPrefixIsRejectedWithoutThrowing) {
  const std::string text = memx::to_json(basic_report());
  for (std::size_t n = 0; n + 1 < text.size(); ++n) {  // the last byte is the newline
    memx::ReportRead read;
    ASSERT_NO_THROW(read = memx::read_report(std::string_view(text).substr(0, n), "r.json"));
    ASSERT_FALSE(read.report.has_value()) << n;
    ASSERT_TRUE(starts_with(read.error, "r.json: truncated JSON at byte ") ||
                read.error == "r.json: empty input: not a memx report")
        << n << ": " << read.error;
  }
}

TEST(ReadReport, RandomCorruptionNeverThrows) {
  const std::string text = memx::to_json(basic_report());
  std::mt19937 rng(7);
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bad = text;
    for (int flips = 0; flips < 3; ++flips) {
      bad[rng() % bad.size()] = static_cast<char>(" \"{}[],:0-1ax\\"[rng() % 14]);
    }
    memx::ReportRead read;
    ASSERT_NO_THROW(read = memx::read_report(bad, "r.json"));
    ASSERT_NE(read.report.has_value(), !read.error.empty());
    rejected += read.report ? 0 : 1;
    // The fast reader and nlohmann's agree on every text, valid or not.
    const memx::ReportRead exact = memx::read_report_exact(bad, "r.json");
    ASSERT_EQ(read.error, exact.error) << bad;
    ASSERT_EQ(read.report, exact.report) << bad;
  }
  EXPECT_GT(rejected, 1000);
}

TEST(ReadReport, RejectsEmptyInput) {
  EXPECT_EQ(error_for_text(""), "report.json: empty input: not a memx report");
  EXPECT_EQ(error_for_text(" \n"), "report.json: empty input: not a memx report");
}

TEST(ReadReport, RejectsANonObject) {
  EXPECT_EQ(error_for(json::array({1, 2})),
            "report.json: expected a JSON object at the top level, got array: not a memx report");
}

TEST(ReadReport, RejectsAnotherFormat) {
  json doc = golden_json();
  doc["format"] = "heaptrack";
  EXPECT_EQ(error_for(doc),
            "report.json: format: \"heaptrack\" is not \"memx-report\": not a memx report");
  doc.erase("format");
  EXPECT_EQ(error_for(doc), "report.json: missing field \"format\": not a memx report");
}

TEST(ReadReport, RejectsANewerVersion) {
  json doc = golden_json();
  doc["version"] = 4;
  EXPECT_EQ(
      error_for(doc),
      "report.json: version: report version 4 is newer than this memx reads (3); upgrade memx");
  doc["version"] = 0;
  EXPECT_EQ(error_for(doc), "report.json: version: invalid report version 0");
  doc["version"] = "1";
  EXPECT_EQ(error_for(doc), "report.json: version: expected an integer, got string");
}

TEST(ReadReport, NamesTheJsonPathOfAWrongType) {
  json doc = golden_json();
  doc["tests"][3]["runs"][0]["net_bytes"] = "96";
  EXPECT_EQ(error_for(doc),
            "report.json: tests[3].runs[0].net_bytes: expected an integer, got string");
}

TEST(ReadReport, RejectsWrongTypesEverywhere) {
  struct Case {
    json::json_pointer where;
    json value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {json::json_pointer("/framework"), 1, "framework: expected a string, got integer 1"},
      {json::json_pointer("/pid"), 18446744073709551615u,
       "pid: integer 18446744073709551615 is out of range"},
      {json::json_pointer("/pid"), -1, "pid: integer -1 is out of range [0, 9223372036854775807]"},
      {json::json_pointer("/complete"), "yes", "complete: expected a boolean, got string"},
      {json::json_pointer("/repetitions"), 2.5,
       "repetitions: expected a non-negative integer, got number 2.5"},
      {json::json_pointer("/started_at"), nullptr, "started_at: expected a string, got null"},
      {json::json_pointer("/finished_at"), 3, "finished_at: expected a string, got integer 3"},
      {json::json_pointer("/iteration_end_live_bytes"), json::object(),
       "iteration_end_live_bytes: expected an array, got object"},
      {json::json_pointer("/iteration_end_live_bytes/2"), "x",
       "iteration_end_live_bytes[2]: expected an integer, got string"},
      {json::json_pointer("/tests"), nullptr, "tests: expected an array, got null"},
      {json::json_pointer("/tests/1"), json::array(), "tests[1]: expected an object, got array"},
      {json::json_pointer("/tests/0/line"), 1.5,
       "tests[0].line: expected a non-negative integer, got number 1.5"},
      {json::json_pointer("/tests/0/line"), 4294967296,
       "tests[0].line: integer 4294967296 is out of range [0, 2147483647]"},
      {json::json_pointer("/tests/0/status"), "ok",
       "tests[0].status: unknown status \"ok\" (use passed, failed, skipped)"},
      {json::json_pointer("/tests/0/runs/1/allocs"), -1,
       "tests[0].runs[1].allocs: expected a non-negative integer, got integer -1"},
      {json::json_pointer("/tests/0/runs/1/peak_bytes"), -1,
       "tests[0].runs[1].peak_bytes: integer -1 is out of range [0, 9223372036854775807]"},
      {json::json_pointer("/tests/0/runs/4/duration_ms"), "0.5",
       "tests[0].runs[4].duration_ms: expected a number, got string"},
      {json::json_pointer("/tests/0/budget"), "peak=4MiB",
       "tests[0].budget: expected an object, got string"},
      {json::json_pointer("/tests/0/budget/peek"), 1,
       "tests[0].budget.peek: unknown budget key (use peak, net, blocks, allocs, rss, leak, fds, threads, "
       "threads_left, warn)"},
      {json::json_pointer("/tests/0/budget/peak"), -5,
       "tests[0].budget.peak: integer -5 is out of range [0, 9223372036854775807]"},
      {json::json_pointer("/tests/1/violations/0/measured"), "64",
       "tests[1].violations[0].measured: expected an integer, got string"},
      {json::json_pointer("/tests/1/leak/verdict"), "maybe",
       "tests[1].leak.verdict: unknown verdict \"maybe\" (use unknown, clean, suspect, leak, expected)"},
      {json::json_pointer("/tests/1/leak/confidence"), "sure",
       "tests[1].leak.confidence: unknown confidence \"sure\" (use low, medium, high)"},
      {json::json_pointer("/tests/1/leak/bytes_per_run"), true,
       "tests[1].leak.bytes_per_run: expected a number, got boolean"},
  };
  for (const Case& c : cases) {
    json doc = golden_json();
    doc[c.where] = c.value;
    EXPECT_EQ(error_for(doc), "report.json: " + c.message) << c.where.to_string();
  }
}

TEST(ReadReport, RejectsMissingFields) {
  json doc = golden_json();
  doc["tests"][0].erase("runs");
  EXPECT_EQ(error_for(doc), "report.json: tests[0]: missing field \"runs\"");
  doc = golden_json();
  doc["tests"][1]["leak"].erase("reason");
  EXPECT_EQ(error_for(doc), "report.json: tests[1].leak: missing field \"reason\"");
  doc = golden_json();
  doc.erase("pid");
  EXPECT_EQ(error_for(doc), "report.json: missing field \"pid\"");
}

TEST(ReadReport, RejectsTheSameTestTwice) {
  // A second copy with other figures: a reader keeping one of them would hide the other.
  json doc = golden_json();
  json copy = doc["tests"][1];
  copy["runs"][0]["peak_bytes"] = 1 << 20;
  doc["tests"].push_back(copy);
  EXPECT_EQ(error_for(doc),
            "report.json: tests[5].name: the test \"Parser.LeaksOneNode\" is in the report twice "
            "(also tests[1]); a report holds each test once");
  // Identical copies too, and names that differ only after a NUL are different tests.
  doc = golden_json();
  doc["tests"][3] = doc["tests"][4];
  EXPECT_EQ(error_for(doc),
            "report.json: tests[4].name: the test \"Parser.Slow/\"quoted\" \\ ü\" is in the "
            "report twice (also tests[3]); a report holds each test once");
  // Of several names twice, the one whose second copy comes first, with its first copy.
  doc = golden_json();
  doc["tests"].push_back(doc["tests"][2]);  // tests[5]: tests[2] again
  doc["tests"].push_back(doc["tests"][0]);  // tests[6]
  doc["tests"].push_back(doc["tests"][2]);  // tests[7]: a third copy
  doc["tests"].push_back(doc["tests"][1]);  // tests[8]
  EXPECT_EQ(error_for(doc).substr(0, 33), "report.json: tests[5].name: the t");
  EXPECT_NE(error_for(doc).find("(also tests[2])"), std::string::npos) << error_for(doc);
  doc = golden_json();
  doc["tests"][0]["name"] = std::string("A\0x", 3);
  doc["tests"][1]["name"] = std::string("A\0y", 3);
  EXPECT_TRUE(memx::read_report(doc.dump(), "report.json").report.has_value());
}

TEST(ReadReport, RejectsWrongTypesOfTheOptionalMembers) {
  json doc = golden_json();
  doc["tool"] = 3;
  memx::ReportRead read = memx::read_report(doc.dump(), "r.json");
  EXPECT_FALSE(read.report.has_value());
  EXPECT_NE(read.error.find("tool"), std::string::npos) << read.error;
  doc = golden_json();
  doc["measured"] = "no";
  read = memx::read_report(doc.dump(), "r.json");
  EXPECT_FALSE(read.report.has_value());
  EXPECT_NE(read.error.find("measured"), std::string::npos) << read.error;
  EXPECT_NE(read.error.find("expected a boolean"), std::string::npos) << read.error;
}

TEST(ReadReport, IgnoresUnknownFieldsOfTheSameVersion) {
  json doc = golden_json();
  doc["hostname"] = "ci-runner-3";
  doc["tests"][0]["runs"][0]["page_faults"] = 12;
  const memx::ReportRead read = memx::read_report(doc.dump(), "report.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, basic_report());
}

TEST(Report, RunIdRoundTripsAndIsOptional) {
  memx::Report r = basic_report();
  r.run_id = memx::make_run_id(std::chrono::system_clock::time_point(std::chrono::microseconds(
                                   1764500660123456)),
                               4242);
  EXPECT_EQ(r.run_id, "2025-11-30T11:04:20.123456Z/4242");
  const std::string text = memx::to_json(r);
  EXPECT_NE(text.find("\n  \"run_id\": \"2025-11-30T11:04:20.123456Z/4242\",\n"), std::string::npos);
  const memx::ReportRead read = memx::read_report(text, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
  // Reports written before it existed have none, and read as before.
  EXPECT_EQ(read_file(golden_path()).find("run_id"), std::string::npos);
  json doc = golden_json();
  doc["run_id"] = 7;
  const memx::ReportRead bad = memx::read_report(doc.dump(), "r.json");
  EXPECT_FALSE(bad.report.has_value());
  EXPECT_NE(bad.error.find("run_id"), std::string::npos) << bad.error;
  // Ordered by time as text, whatever the pids.
  EXPECT_LT(memx::make_run_id(std::chrono::system_clock::time_point(std::chrono::microseconds(1)), 99999),
            memx::make_run_id(std::chrono::system_clock::time_point(std::chrono::microseconds(2)), 1));
}

TEST(ReadReport, NullFinishedAtMeansNotFinished) {
  json doc = golden_json();
  doc["finished_at"] = nullptr;
  doc["complete"] = false;
  const memx::ReportRead read = memx::read_report(doc.dump(), "report.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(read.report->finished_at, "");
  EXPECT_FALSE(read.report->complete);
}

}  // namespace

// ---- live allocation numbers (counting mode, MEMX_BREAK_ON_ALLOC) ------------------------

namespace {

TEST(Report, LiveAllocationNumbersRoundTrip) {
  memx::Report r = basic_report();
  r.tests[1].live_numbers.run = 5;
  r.tests[1].live_numbers.live = 2;
  r.tests[1].live_numbers.numbers = {3, 17};
  const std::string text = memx::to_json(r);
  const json doc = json::parse(text);
  EXPECT_EQ(doc["tests"][1]["live_allocations"],
            json::parse(R"({"run": 5, "live": 2, "numbers": [3, 17]})"));
  EXPECT_FALSE(doc["tests"][0].contains("live_allocations"));  // none taken: no member
  const memx::ReportRead read = memx::read_report(text, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
}

TEST(ReadReport, RejectsBadLiveAllocationNumbers) {
  json doc = golden_json();
  doc["tests"][1]["live_allocations"] = json::parse(R"({"run": 5, "live": 2, "numbers": [17, 3]})");
  EXPECT_EQ(error_for(doc),
            "report.json: tests[1].live_allocations.numbers[1]: allocation numbers must be 1 or "
            "more, ascending");
  doc["tests"][1]["live_allocations"] = json::parse(R"({"run": 5, "live": 1, "numbers": [3, 17]})");
  EXPECT_EQ(error_for(doc), "report.json: tests[1].live_allocations.numbers: 2 numbers for 1 live blocks");
  doc["tests"][1]["live_allocations"] = json::parse(R"({"run": 0, "live": 1, "numbers": [3]})");
  EXPECT_TRUE(starts_with(error_for(doc), "report.json: tests[1].live_allocations.run: "));
}

// Memory over time (optional members): a test's run with its points, the whole run's points.
TEST(Report, TimelinesRoundTripAndAreOptional) {
  memx::Report r = basic_report();
  r.tests[0].timeline.run = 1;
  r.tests[0].timeline.start_ms = 2.5;
  r.tests[0].timeline.points = {{0, 0, 0}, {10.25, 4096, 8192}, {12.5, 4096, 4096}};
  r.tests[1].timeline.run = 3;
  r.tests[1].timeline.start_ms = 20;  // shorter than one interval: no points
  r.timeline = {{0, 1048576, 20 << 20}, {10, 1052672, 21 << 20}};
  const std::string text = memx::to_json(r);
  const json doc = json::parse(text);
  EXPECT_EQ(doc["tests"][0]["timeline"],
            json::parse(R"({"run": 1, "start_ms": 2.5, "points": [[0.0, 0, 0], [10.25, 4096, 8192], [12.5, 4096, 4096]]})"));
  EXPECT_EQ(doc["tests"][1]["timeline"]["points"], json::array());
  EXPECT_FALSE(doc["tests"][2].contains("timeline"));  // none recorded: no member
  EXPECT_EQ(doc["timeline"].size(), 2u);
  const memx::ReportRead read = memx::read_report(text, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
  EXPECT_FALSE(json::parse(memx::to_json(basic_report())).contains("timeline"));
}

TEST(ReadReport, RejectsBadTimelines) {
  json doc = golden_json();
  doc["tests"][0]["timeline"] = json::parse(R"({"run": 6, "start_ms": 0, "points": []})");
  EXPECT_EQ(error_for(doc), "report.json: tests[0].timeline.run: run 6 of a test with 5 runs");
  doc["tests"][0]["timeline"] = json::parse(R"({"run": 1, "start_ms": -1, "points": []})");
  EXPECT_EQ(error_for(doc), "report.json: tests[0].timeline.start_ms: a negative time (-1 ms)");
  doc["tests"][0]["timeline"] = json::parse(R"({"run": 1, "start_ms": 0, "points": [[0, 1]]})");
  EXPECT_EQ(error_for(doc),
            "report.json: tests[0].timeline.points[0]: 2 numbers, expected 3 (ms, heap_bytes, rss_bytes)");
  doc["tests"][0]["timeline"] = json::parse(R"({"run": 1, "start_ms": 0, "points": [[5, 1, 1], [4, 1, 1]]})");
  EXPECT_EQ(error_for(doc),
            "report.json: tests[0].timeline.points[1][0]: time 4 ms is before the point before it, or negative");
  doc["tests"][0].erase("timeline");
  doc["timeline"] = json::parse(R"([[0, "x", 1]])");
  EXPECT_TRUE(starts_with(error_for(doc), "report.json: timeline[0][1]: expected an integer"));
}


// A leak watch (optional): its samples and analysis round-trip; reports without one have no
// member and read as none.
TEST(Report, WatchRoundTripsAndIsOptional) {
  memx::Report r = basic_report();
  memx::WatchRecord w;
  w.interval_ms = 100;
  for (int i = 0; i < 12; ++i) {
    w.samples.push_back({i * 100.5, 1000 + 4096 * i, 10 + i, 8 << 20, 5, i < 6 ? 2 : -1});
  }
  memx::WatchSiteSeries site;  // stack mode: one growing site
  site.stack_id = 12;
  site.where = "cache.cpp:42 in Cache::put";
  for (const memx::WatchSample& x : w.samples) {
    site.ms.push_back(x.ms);
    site.bytes.push_back(x.heap_bytes);
    site.blocks.push_back(x.heap_blocks);
  }
  w.analysis = memx::analyze_watch(w.samples, {site});
  ASSERT_TRUE(w.analysis.leak);
  ASSERT_EQ(w.analysis.sites.size(), 1u);
  r.watch = w;
  const std::string text = memx::to_json(r);
  const json doc = json::parse(text);
  EXPECT_EQ(doc["watch"]["samples"][1], json::parse("[100.5, 5096, 11, 8388608, 5, 2]"));
  EXPECT_EQ(doc["watch"]["analysis"]["confidence"], "high");
  EXPECT_EQ(doc["watch"]["analysis"]["heap_bytes"]["confidence"], "high");
  EXPECT_EQ(doc["watch"]["analysis"]["sites"][0]["where"], "cache.cpp:42 in Cache::put");
  EXPECT_EQ(doc["watch"]["analysis"]["sites"][0]["stack_id"], 12);
  const memx::ReportRead read = memx::read_report(text, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
  EXPECT_FALSE(json::parse(memx::to_json(basic_report())).contains("watch"));
  const memx::ReportRead old = memx::read_report(memx::to_json(basic_report()), "r.json");
  ASSERT_TRUE(old.report.has_value()) << old.error;
  EXPECT_FALSE(old.report->watch.has_value());
}

TEST(ReadReport, RejectsBadWatches) {
  memx::Report r = basic_report();
  r.watch = memx::WatchRecord{};
  r.watch->samples = {{0, 1, 1, 1, 1, 1}, {10, 1, 1, 1, 1, 1}};
  r.watch->analysis = memx::analyze_watch(r.watch->samples);
  json doc = json::parse(memx::to_json(r));
  json bad = doc;
  bad["watch"]["samples"][1] = json::parse("[10, 1, 1]");
  EXPECT_EQ(memx::read_report(bad.dump(), "report.json").error,
            "report.json: watch.samples[1]: 3 numbers, expected 6 (ms, heap_bytes, heap_blocks, rss_bytes, fds, threads)");
  bad = doc;
  bad["watch"]["samples"][1][0] = -1;
  EXPECT_EQ(memx::read_report(bad.dump(), "report.json").error,
            "report.json: watch.samples[1][0]: time -1 ms is before the sample before it, or negative");
  bad = doc;
  bad["watch"]["analysis"]["fds"]["confidence"] = "sure";
  EXPECT_EQ(memx::read_report(bad.dump(), "report.json").error,
            "report.json: watch.analysis.fds.confidence: \"sure\" is not a confidence (low, medium or high)");
  bad = doc;
  bad["watch"]["analysis"]["sites"] = json::parse(R"([{"stack_id": 1, "where": "x", "bytes": -1, "blocks": 0, "trend": {}}])");
  EXPECT_EQ(memx::read_report(bad.dump(), "report.json").error,
            "report.json: watch.analysis.sites[0].bytes: integer -1 is out of range [0, 9223372036854775807]");
  bad = doc;
  bad["watch"]["analysis"].erase("leak");
  EXPECT_EQ(memx::read_report(bad.dump(), "report.json").error, "report.json: watch.analysis: missing field \"leak\"");
}

}  // namespace

namespace {

// A report of every shape the writer has: random figures and doubles (tiny, huge, integral,
// non-finite), names with every control character, quotes, non-ASCII and invalid UTF-8,
// empty and full arrays, budgets, violations, suppressions, sites and live numbers.
memx::Report random_report(std::mt19937_64& rng) {
  auto pick = [&](std::uint64_t n) { return static_cast<std::size_t>(rng() % n); };
  auto text = [&]() {
    static const std::string pieces[] = {"Suite.Test", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f",
                                         "\xc3\xbc", "\xe2\x82\xac", "\xff", "\xc3", "/", " ", "", "x"};
    std::string s;
    const std::size_t n = pick(6);
    for (std::size_t i = 0; i < n; ++i) s += pieces[pick(std::size(pieces))];
    return s;
  };
  auto number = [&]() -> double {
    switch (pick(7)) {
      case 0: return 0.0;
      case 1: return static_cast<double>(static_cast<std::int64_t>(rng() >> pick(64)));
      case 2: return std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(pick(120)));
      case 3: return std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(pick(120)));
      case 4: return 1e15 + static_cast<double>(pick(1000));
      case 5: return -1.0 / static_cast<double>(1 + pick(1000));
      default: return pick(2) ? std::numeric_limits<double>::infinity() : std::nan("");
    }
  };
  memx::Report r;
  r.framework = pick(2) ? "googletest" : "catch2";
  r.binary = text();
  r.pid = static_cast<std::int64_t>(rng() >> 1);
  r.complete = pick(2) == 0;
  r.repetitions = static_cast<int>(pick(6));
  r.started_at = "2026-11-30T12:00:00Z";
  if (pick(2)) r.finished_at = text();
  if (pick(2)) r.run_id = text();
  r.backend = "mimalloc";
  if (pick(3) == 0) r.tool = text();
  r.measured = pick(4) != 0;
  r.warn_only = pick(3) == 0;
  if (pick(3) == 0) {
    r.stacks.depth = 1 + static_cast<int>(pick(64));
    r.stacks.unwinder = "libunwind";
    r.stacks.dropped = rng();
    r.stacks.sample_bytes = pick(2) ? 0 : rng();
  }
  if (pick(3) == 0) {
    r.suppressions_file = text();
    r.suppressions.push_back({"leak:" + text(), static_cast<int>(pick(100)), rng()});
  }
  for (std::size_t i = pick(4); i > 0; --i) r.iteration_end_live_bytes.push_back(static_cast<std::int64_t>(rng()));
  for (std::size_t i = pick(3); i > 0; --i) r.timeline.push_back({number(), static_cast<std::int64_t>(rng() >> 3), 4096});
  for (std::size_t i = pick(5); i > 0; --i) {
    memx::TestRecord t;
    t.name = text() + std::to_string(i);
    if (pick(3) == 0) t.binary = text();
    t.file = text();
    t.line = static_cast<int>(pick(100000));
    t.status = static_cast<memx::TestStatus>(pick(3));
    for (std::size_t k = pick(4); k > 0; --k) {
      t.runs.push_back(run(static_cast<std::int64_t>(rng()), -static_cast<std::int64_t>(pick(9)),
                           static_cast<std::int64_t>(pick(1 << 30)), rng(), 0, number()));
    }
    if (pick(2)) t.budget = memx::parse_budget(pick(2) ? "peak=1MiB, net=0, threads=current, warn" : "").budget;
    if (pick(2)) t.violations.push_back({"peak", static_cast<std::int64_t>(rng()), -1, text(), pick(2) == 0});
    t.leak.verdict = static_cast<memx::Verdict>(pick(4));
    t.leak.bytes_per_run = number();
    t.leak.blocks_per_run = number();
    t.leak.reason = text();
    if (pick(3) == 0) t.leak.suppressed_by = text();
    if (r.stacks.depth > 0 && pick(2)) {
      memx::SiteRecord s;
      s.bytes = 16;
      s.blocks = 1;
      s.runs = {{16, 1}, {0, 0}};
      s.frames.push_back({text(), text(), static_cast<int>(pick(500)), text(), rng(), pick(2) == 0, text()});
      s.frames.push_back({"main", "", 0, "a.out", 4096, false, ""});
      t.sites.push_back(s);
      if (pick(2)) t.peak_sites.push_back(s);
    }
    if (pick(3) == 0) t.live_numbers = {1 + static_cast<int>(pick(5)), 3, {1, 5, 9}};
    if (pick(3) == 0) {
      t.timeline.run = 1 + static_cast<int>(pick(3));
      t.timeline.start_ms = number();
      for (std::size_t k = pick(4); k > 0; --k) {
        t.timeline.points.push_back({number(), static_cast<std::int64_t>(rng() >> 2), static_cast<std::int64_t>(pick(1 << 20))});
      }
    }
    r.tests.push_back(std::move(t));
  }
  return r;
}

}  // namespace

// The writer builds no document: its text must be exactly what nlohmann's dump(2) gives for
// the same document (the form every earlier report and golden file has).
TEST(Report, WrittenTextIsNlohmannsOwnFormOfTheDocument) {
  std::mt19937_64 rng(20261130);
  for (int i = 0; i < 3000; ++i) {
    const memx::Report r = random_report(rng);
    const std::string text = memx::to_json(r);
    nlohmann::ordered_json doc;
    ASSERT_NO_THROW(doc = nlohmann::ordered_json::parse(text)) << text;
    ASSERT_EQ(text, doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n")
        << "report " << i;
  }
}

// A report of more than kFlatTestsAbove tests has each test on one line, as dump(-1) writes
// it; everything else is the dump(2) form. At kFlatTestsAbove tests, it is dump(2) whole.
TEST(Report, ALargeReportHasEachTestOnOneLine) {
  std::mt19937_64 rng(20261201);
  for (int i = 0; i < 20; ++i) {
    memx::Report r = random_report(rng);
    std::vector<memx::TestRecord> pool = std::move(r.tests);
    r.tests.clear();
    if (pool.empty()) pool.emplace_back();
    pool.front().leak.bytes_per_run = -0.0;  // written "-0.0", as nlohmann writes it
    pool.back().leak.blocks_per_run = 0.0;
    const std::size_t n = memx::kFlatTestsAbove + (i % 2 == 0 ? 0 : 1 + i);
    for (std::size_t k = 0; k < n; ++k) {
      memx::TestRecord t = pool[k % pool.size()];
      t.name += "#" + std::to_string(k);
      r.tests.push_back(std::move(t));
    }
    const std::string text = memx::to_json(r);
    nlohmann::ordered_json doc;
    ASSERT_NO_THROW(doc = nlohmann::ordered_json::parse(text)) << "report " << i;
    const auto replace = nlohmann::ordered_json::error_handler_t::replace;
    const std::string pretty = doc.dump(2, ' ', false, replace) + "\n";
    if (n == memx::kFlatTestsAbove) {
      ASSERT_EQ(text, pretty) << "report " << i;
      continue;
    }
    // The pretty text's tests, each replaced by its one line.
    std::string expected = pretty.substr(0, pretty.find("\"tests\": [\n") + 11);
    for (std::size_t k = 0; k < n; ++k) {
      expected += "    " + doc["tests"][k].dump(-1, ' ', false, replace) + (k + 1 < n ? ",\n" : "\n");
    }
    const std::size_t tests_end = pretty.find("\n  ]", pretty.find("\"tests\": [\n"));
    ASSERT_NE(tests_end, std::string::npos);
    expected += pretty.substr(tests_end + 1);
    ASSERT_EQ(text, expected) << "report " << i;
    // The same document as the pretty form, and read back the same.
    const memx::ReportRead back = memx::read_report(text, "r.json");
    const memx::ReportRead pretty_back = memx::read_report(pretty, "r.json");
    ASSERT_EQ(back.error, pretty_back.error);
    ASSERT_EQ(back.report, pretty_back.report);
  }
}

// ---- the streaming reader -------------------------------------------------------------------

// The fast reader (simdjson, the tests a few MiB at a time) reads every report exactly as
// nlohmann's parser does, whatever the layout: memx's own, compact, keys in another order
// (the tests before the header), every non-ASCII character escaped.
TEST(ReadReport, TheFastReaderAgreesWithNlohmannsOnEveryLayout) {
  std::mt19937_64 rng(20261201);
  int read_back = 0;
  for (int i = 0; i < 2000; ++i) {
    const memx::Report r = random_report(rng);
    const std::string text = memx::to_json(r);
    const json doc = json::parse(text);
    for (const std::string& variant :
         {text, doc.dump(), doc.dump(1), doc.dump(-1, ' ', true), " \n" + doc.dump(3, '\t') + "\n\n"}) {
      const memx::ReportRead fast = memx::read_report(variant, "r.json");
      const memx::ReportRead exact = memx::read_report_exact(variant, "r.json");
      ASSERT_EQ(fast.error, exact.error) << variant;
      ASSERT_EQ(fast.report, exact.report) << variant;
      read_back += fast.report ? 1 : 0;
    }
  }
  EXPECT_GT(read_back, 1000);  // not only errors: most reports have finite numbers
}

// Files are read in 1 MiB pieces and the tests parsed 4 MiB at a time: values cut across
// both boundaries, and a test after a bad one, are read as in one piece.
TEST(ReadReport, AReportOfManyPiecesReadsFromAFileAsFromText) {
  memx::Report r = basic_report();
  const memx::TestRecord model = r.tests.front();
  r.tests.clear();
  for (int i = 0; i < 30000; ++i) {
    memx::TestRecord t = model;
    t.name = "Suite.Test" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 97), 'x');
    t.leak.reason = std::string(static_cast<std::size_t>(i % 300), i % 2 ? '\\' : '"');
    r.tests.push_back(std::move(t));
  }
  const std::string text = memx::to_json(r);
  ASSERT_GT(text.size(), std::size_t{9} << 20);
  char path[] = "/tmp/memx_report_pieces_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  const memx::ReportRead from_file = memx::read_report_file(path);
  ::close(fd);
  ::unlink(path);
  ASSERT_TRUE(from_file.report.has_value()) << from_file.error;
  EXPECT_EQ(*from_file.report, r);
  // Through a pipe (no second reading): an error is still named, by its place.
  std::string bad = text;
  bad.insert(bad.find("\"runs\"", bad.size() / 2), "} ");
  const memx::ReportRead exact = memx::read_report_exact(bad, "r.json");
  ASSERT_FALSE(exact.report.has_value());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::thread writer([&] {
    std::size_t done = 0;
    while (done < bad.size()) {
      const ssize_t n = ::write(pipe_fds[1], bad.data() + done, bad.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(pipe_fds[1]);
  });
  // The reader stops at the error: the writer's rest then fails with EPIPE, not a signal.
  struct sigaction ignore {}, before {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &before);
  const memx::ReportRead piped = memx::read_report_fd(pipe_fds[0], "pipe");
  ::close(pipe_fds[0]);
  writer.join();
  ::sigaction(SIGPIPE, &before, nullptr);
  ASSERT_FALSE(piped.report.has_value());
  EXPECT_TRUE(starts_with(piped.error, "pipe: invalid JSON at byte ")) << piped.error;
}

TEST(ReadReport, AHostileNestingStopsAtOnce) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(error_for_text(deep), "report.json: nested deeper than 64 levels at byte 65: not a memx report");
  const std::string objects = "{\"tests\": " + std::string(100000, '[');
  EXPECT_EQ(error_for_text(objects),
            "report.json: nested deeper than 64 levels at byte 74: not a memx report");
}

TEST(ReadReport, WhitespaceAloneIsAnEmptyInputWhateverItsSize) {
  EXPECT_EQ(error_for_text(std::string(8 << 20, ' ') + "\n\t\r"), "report.json: empty input: not a memx report");
  // Around a report it is still a report.
  const std::string text = std::string(1 << 20, '\n') + memx::to_json(basic_report()) + std::string(1 << 20, ' ');
  const memx::ReportRead read = memx::read_report(text, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, basic_report());
}

// The tests are converted while the text is read: the header's errors still come first, and
// of two bad tests the first in the array is named, even when it waits for the stack tables.
TEST(ReadReport, ErrorsAreNamedInTheDocumentsOrderThoughTestsAreReadFirst) {
  json doc = golden_json();
  doc["tests"][1]["line"] = "thirty";
  doc["version"] = 4;
  EXPECT_EQ(error_for(doc),
            "report.json: version: report version 4 is newer than this memx reads (3); upgrade memx");
  doc["version"] = 3;
  doc["tests"][0]["sites"] = json::array({json::object()});  // waits for the tables, and is bad
  EXPECT_EQ(error_for(doc), "report.json: tests[0].sites[0]: missing field \"bytes\"");
  doc["tests"][0].erase("sites");
  EXPECT_EQ(error_for(doc), "report.json: tests[1].line: expected a non-negative integer, got string");
}

TEST(ReadReport, ASecondTestsMemberReplacesTheFirstAsInADocument) {
  const memx::Report r = basic_report();
  std::string text = memx::to_json(r);
  // {"format": ..., "tests": [...], "tests": [ <the last test only> ]}
  json doc = json::parse(text);
  const std::string last = doc["tests"].back().dump();
  text.insert(text.rfind('}'), ", \"tests\": [" + last + "]");
  const memx::ReportRead read = memx::read_report(text, "r.json");
  ASSERT_TRUE(read.report.has_value()) << read.error;
  ASSERT_EQ(read.report->tests.size(), 1u);
  EXPECT_EQ(read.report->tests[0], r.tests.back());
}

TEST(ReadReport, FromAPipeInChunks) {
  const memx::Report r = basic_report();
  std::string text = memx::to_json(r);
  while (text.size() < (1u << 20)) text.insert(0, 4096, ' ');  // more than a pipe holds
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    std::size_t at = 0;
    while (at < text.size()) {
      const ssize_t n = ::write(fds[1], text.data() + at, std::min<std::size_t>(7000, text.size() - at));
      if (n <= 0) break;
      at += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
  });
  const memx::ReportRead read = memx::read_report_fd(fds[0], "pipe");
  writer.join();
  ::close(fds[0]);
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
}

// ---- read_report_tests: the tests handed over one at a time ----------------------------------

namespace {

// `text` in a temporary file, removed at the end.
class TextFile {
 public:
  explicit TextFile(const std::string& text) {
    char name[] = "/tmp/memx_report_tests_XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd >= 0) {
      path_ = name;
      std::size_t at = 0;
      while (at < text.size()) {
        const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
        if (n <= 0) break;
        at += static_cast<std::size_t>(n);
      }
      ::close(fd);
    }
  }
  ~TextFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What read_report_tests gives for the file: its result, the tests the sink holds at the
// end (by index, each once), and the order they came in.
struct Handed {
  memx::ReportRead read;
  std::vector<std::pair<std::size_t, memx::TestRecord>> tests;
  std::vector<std::size_t> order;
  int restarts = 0;
};

Handed hand_over(const std::string& path, std::size_t stop_at = static_cast<std::size_t>(-1)) {
  Handed h;
  memx::TestSink sink;
  sink.take = [&](std::size_t i, memx::TestRecord&& t) {
    if (i == stop_at) return false;
    h.order.push_back(i);
    h.tests.emplace_back(i, std::move(t));
    return true;
  };
  sink.restart = [&] {
    ++h.restarts;
    h.tests.clear();
    h.order.clear();
  };
  h.read = memx::read_report_tests(path, sink);
  return h;
}

}  // namespace

// Every test reaches the sink once, as read_report_file reads it, in the order of the array
// except those with sites, which come last; the report returned is the same header.
TEST(ReadReportTests, EveryTestIsHandedOverAsReadReportReadsIt) {
  std::mt19937_64 rng(20261202);
  int with_tests = 0, with_sites = 0;
  for (int i = 0; i < 600; ++i) {
    const memx::Report r = random_report(rng);
    const std::string text = memx::to_json(r);
    const TextFile file(text);
    const memx::ReportRead whole = memx::read_report_file(file.path());
    Handed h = hand_over(file.path());
    ASSERT_EQ(h.read.error, whole.error);
    ASSERT_EQ(h.read.report.has_value(), whole.report.has_value());
    EXPECT_FALSE(h.read.stopped);
    if (!whole.report) continue;
    EXPECT_TRUE(h.read.report->tests.empty());
    // Tests with sites (every test of a report in stack mode has the members) come after
    // the others, each group in order.
    const json doc = json::parse(text);
    std::vector<std::size_t> expected;
    for (int sited = 0; sited < 2; ++sited) {
      for (std::size_t k = 0; k < doc["tests"].size(); ++k) {
        const json& t = doc["tests"][k];
        if ((t.contains("sites") || t.contains("peak_sites")) == (sited == 1)) expected.push_back(k);
      }
    }
    EXPECT_EQ(h.order, expected);
    std::sort(h.tests.begin(), h.tests.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    memx::Report rebuilt = *h.read.report;
    for (auto& [k, t] : h.tests) {
      if (t.binary == rebuilt.binary) t.binary.clear();  // as written: the whole reader clears it
      rebuilt.tests.push_back(std::move(t));
    }
    ASSERT_EQ(rebuilt, *whole.report);
    with_tests += whole.report->tests.empty() ? 0 : 1;
    with_sites += r.stacks.depth > 0 && !whole.report->tests.empty() ? 1 : 0;
  }
  EXPECT_GT(with_tests, 30);
  EXPECT_GT(with_sites, 5);
}

// A test twice is found without the reader keeping the tests: the same message.
TEST(ReadReportTests, RejectsTheSameTestTwiceAsReadReportDoes) {
  json doc = golden_json();
  doc["tests"].push_back(doc["tests"][2]);
  doc["tests"].push_back(doc["tests"][0]);
  const TextFile file(doc.dump(2));
  const Handed h = hand_over(file.path());
  ASSERT_FALSE(h.read.report.has_value());
  EXPECT_EQ(h.read.error, memx::read_report_file(file.path()).error);
  EXPECT_NE(h.read.error.find("tests[5].name: the test"), std::string::npos) << h.read.error;
  EXPECT_NE(h.read.error.find("(also tests[2])"), std::string::npos) << h.read.error;
  // Of the report's own binary or of another: the binary is part of the key.
  doc = golden_json();
  doc["tests"].push_back(doc["tests"][1]);
  doc["tests"][5]["binary"] = "other_tests";
  const TextFile two_binaries(doc.dump(2));
  const Handed h2 = hand_over(two_binaries.path());
  EXPECT_TRUE(h2.read.report.has_value()) << h2.read.error;
  doc["tests"].push_back(doc["tests"][5]);
  const TextFile twice_there(doc.dump(2));
  const Handed h3 = hand_over(twice_there.path());
  ASSERT_FALSE(h3.read.report.has_value());
  EXPECT_EQ(h3.read.error, memx::read_report_file(twice_there.path()).error);
  EXPECT_NE(h3.read.error.find("of other_tests is in the report twice (also tests[5])"), std::string::npos)
      << h3.read.error;
}

// The sink stops the reading: no report and no error, nothing after the test it refused.
TEST(ReadReportTests, TheSinkStopsTheReading) {
  const TextFile file(memx::to_json(basic_report()));
  const Handed h = hand_over(file.path(), 2);
  EXPECT_TRUE(h.read.stopped);
  EXPECT_FALSE(h.read.report.has_value());
  EXPECT_EQ(h.read.error, "");
  EXPECT_EQ(h.order, (std::vector<std::size_t>{0, 1}));
}

// A text the fast reader cannot take is read again by nlohmann's parser: the sink is told
// to start over, and ends with each test once. An invalid one is an error, as before.
TEST(ReadReportTests, ASecondReadingStartsTheSinkOver) {
  json doc = golden_json();
  std::string text = doc.dump(2);
  // A number simdjson does not take (beyond 64 bits) where a double is read.
  const std::string duration = "\"duration_ms\": ";
  const std::size_t at = text.rfind(duration);
  ASSERT_NE(at, std::string::npos);
  const std::size_t end = text.find_first_of(",\n}", at + duration.size());
  text.replace(at + duration.size(), end - at - duration.size(), "123456789012345678901234567890");
  const TextFile file(text);
  const memx::ReportRead whole = memx::read_report_file(file.path());
  const Handed h = hand_over(file.path());
  ASSERT_EQ(h.read.error, whole.error);
  EXPECT_EQ(h.restarts, 1);  // before the second reading
  ASSERT_TRUE(whole.report.has_value()) << whole.error;
  {
    EXPECT_EQ(h.tests.size(), whole.report->tests.size());
    for (std::size_t k = 0; k < h.tests.size(); ++k) EXPECT_EQ(h.tests[k].first, k);
  }
  std::string bad = doc.dump(2);
  bad.insert(bad.rfind("\"runs\""), "} ");
  const TextFile bad_file(bad);
  const Handed hb = hand_over(bad_file.path());
  EXPECT_FALSE(hb.read.report.has_value());
  EXPECT_EQ(hb.read.error, memx::read_report_file(bad_file.path()).error);
}

// ---- two threads writing one report ---------------------------------------------------------

namespace {

// A report of `n` tests cycled from a random report's (names made unique), as a large run
// has them.
memx::Report many_tests(std::mt19937_64& rng, std::size_t n) {
  memx::Report r = random_report(rng);
  std::vector<memx::TestRecord> pool = std::move(r.tests);
  r.tests.clear();
  if (pool.empty()) pool.emplace_back();
  for (std::size_t k = 0; k < n; ++k) {
    memx::TestRecord t = pool[k % pool.size()];
    t.name += "#" + std::to_string(k);
    r.tests.push_back(std::move(t));
  }
  return r;
}

// Hands each job to a thread of its own, started after `delay` (a background thread that is
// late, or busy with something else), or refuses every job.
struct TestBackground {
  std::chrono::milliseconds delay{0};
  bool refuse = false;
  std::vector<std::thread> threads;
  int jobs = 0;
  memx::detail::Background get() {
    return {[this](std::function<void()> job) {
      if (refuse) return false;
      ++jobs;
      threads.emplace_back([job = std::move(job), d = delay] {
        std::this_thread::sleep_for(d);
        job();
      });
      return true;
    }};
  }
  ~TestBackground() {
    for (std::thread& t : threads) t.join();
  }
};

}  // namespace

// A large report's tests rendered by two threads are, byte for byte, the text one thread
// writes (to_json), whatever the other thread does: on time, late, or never.
TEST(WriteJson, TwoThreadsWriteTheTextOneWrites) {
  std::mt19937_64 rng(20261201);
  for (int i = 0; i < 12; ++i) {
    // Around the block size (2048 tests): fewer than two blocks are written by one thread.
    const std::size_t sizes[] = {4095, 4096, 4097, 6144, 6200, 20000};
    const memx::Report r = many_tests(rng, sizes[i % 6]);
    const std::string expected = memx::to_json(r);
    for (const int mode : {0, 1, 2}) {
      TestBackground bg;
      bg.delay = std::chrono::milliseconds(mode == 1 ? 20 : 0);
      bg.refuse = mode == 2;
      const memx::detail::Background background = bg.get();
      std::string text;
      std::size_t pieces = 0;
      const bool ok = memx::write_json(
          r, [&](std::string_view piece) { text.append(piece); ++pieces; return true; },
          std::size_t{1} << 20, &background);
      ASSERT_TRUE(ok);
      ASSERT_EQ(text.size(), expected.size()) << "report " << i << ", mode " << mode;
      ASSERT_TRUE(text == expected) << "report " << i << ", mode " << mode;
      // Two threads share the work only for a flat report of two blocks or more, without
      // stack tables (their order is the writing's).
      const bool shared = r.tests.size() >= 4096 && r.stacks.depth == 0;
      EXPECT_EQ(bg.jobs, shared && mode != 2 ? 1 : 0) << "report " << i;
      EXPECT_GE(pieces, shared ? r.tests.size() / 2048 : 1u);
    }
  }
}

// A sink that refuses a piece stops the writing on both threads: false, with the errno of
// the refusal, and nothing after the refused piece is handed over.
TEST(WriteJson, ARefusedPieceStopsBothThreads) {
  std::mt19937_64 rng(7);
  memx::Report r = many_tests(rng, 30000);
  r.stacks.depth = 0;
  for (const std::size_t refuse_at : {1u, 2u, 5u, 9u}) {
    TestBackground bg;
    const memx::detail::Background background = bg.get();
    std::size_t calls = 0;
    const bool ok = memx::write_json(
        r,
        [&](std::string_view) {
          if (++calls == refuse_at) {
            errno = ENOSPC;
            return false;
          }
          return true;
        },
        std::size_t{1} << 20, &background);
    const int err = errno;
    EXPECT_FALSE(ok);
    EXPECT_EQ(err, ENOSPC);
    EXPECT_EQ(calls, refuse_at);
  }
}
