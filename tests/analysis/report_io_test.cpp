// Report files: atomic writes, path patterns, timestamps.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "memx/report.hpp"

namespace {

// A fresh directory under TMPDIR, removed with its files at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/memx-analysis-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    if (::mkdtemp(name.data()) != nullptr) path_ = name.data();
  }
  ~TempDir() {
    for (const std::string& f : files()) ::unlink((path_ + "/" + f).c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
      }
      ::closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

memx::Report sample_report(int tests) {
  memx::Report r;
  r.framework = "catch2";
  r.binary = "/bin/tests";
  r.pid = 77;
  r.complete = true;
  r.repetitions = 3;
  r.started_at = "2024-05-01T12:00:00Z";
  r.finished_at = "2024-05-01T12:00:01Z";
  r.backend = "system";
  for (int i = 0; i < tests; ++i) {
    memx::TestRecord t;
    t.name = "case " + std::to_string(i) + " / section";
    t.runs.assign(3, memx::RunRecord{});
    t.runs[1].net_bytes = i;
    r.tests.push_back(t);
  }
  memx::analyze_report(r);
  return r;
}

TEST(ExpandReportPath, PidAndPercent) {
  EXPECT_EQ(memx::expand_report_path("memx-%p.json", 1234), "memx-1234.json");
  EXPECT_EQ(memx::expand_report_path("out/%p/r%%.json", 9), "out/9/r%.json");
  EXPECT_EQ(memx::expand_report_path("%%p", 9), "%p");
  EXPECT_EQ(memx::expand_report_path("a%xb%", 9), "a%xb%");  // unknown and trailing '%' kept
  EXPECT_EQ(memx::expand_report_path("plain.json", 9), "plain.json");
}

TEST(ExpandReportPath, DirectoryGetsAFileNamePerProcess) {
  EXPECT_EQ(memx::expand_report_path("reports/", 1234), "reports/memx-1234.json");
  EXPECT_EQ(memx::expand_report_path("run-%p/", 5), "run-5/memx-5.json");
  EXPECT_EQ(memx::expand_report_path("", 5), "memx-5.json");
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  EXPECT_EQ(memx::expand_report_path(dir.path(), 42), dir.path() + "/memx-42.json");
}

TEST(WriteReportAtomically, WritesAReadableReportAndNoTemporaryFiles) {
  TempDir dir;
  const std::string path = dir.path() + "/memx-77.json";
  const memx::Report r = sample_report(3);
  std::string error;
  ASSERT_TRUE(memx::write_report_atomically(r, path, &error)) << error;
  EXPECT_EQ(error, "");
  const memx::ReportRead read = memx::read_report_file(path);
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
  EXPECT_EQ(dir.files(), std::vector<std::string>{"memx-77.json"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(WriteReportAtomically, ReplacesAnExistingReport) {
  TempDir dir;
  const std::string path = dir.path() + "/r.json";
  memx::Report r = sample_report(1);
  r.complete = false;
  ASSERT_TRUE(memx::write_report_atomically(r, path, nullptr));
  r = sample_report(2);
  ASSERT_TRUE(memx::write_report_atomically(r, path, nullptr));
  const memx::ReportRead read = memx::read_report_file(path);
  ASSERT_TRUE(read.report.has_value()) << read.error;
  EXPECT_EQ(*read.report, r);
  EXPECT_EQ(dir.files().size(), 1u);
}

TEST(WriteReportAtomically, FailureNamesThePathAndTheError) {
  TempDir dir;
  const std::string path = dir.path() + "/missing/r.json";
  std::string error;
  EXPECT_FALSE(memx::write_report_atomically(sample_report(1), path, &error));
  EXPECT_NE(error.find("\"" + path + "\""), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  EXPECT_FALSE(memx::write_report_atomically(sample_report(1), path, nullptr));
  EXPECT_FALSE(memx::write_report_atomically(sample_report(1), "", &error));
  EXPECT_EQ(error, "memx: cannot write report: empty path");
}

TEST(WriteFileAtomically, WithoutFsyncStillReplacesWholeFiles) {
  TempDir dir;
  const std::string path = dir.path() + "/r.json";
  std::string error;
  ASSERT_TRUE(memx::write_file_atomically(path, "first", /*durable=*/false, &error)) << error;
  ASSERT_TRUE(memx::write_file_atomically(path, "second, longer", false, &error)) << error;
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "second, longer");
  EXPECT_EQ(dir.files(), std::vector<std::string>{"r.json"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_FALSE(memx::write_file_atomically(dir.path() + "/missing/r.json", "x", false, &error));
  EXPECT_NE(error.find("missing/r.json"), std::string::npos) << error;
}

TEST(WriteReportAtomically, ConcurrentReaderNeverSeesAHalfWrittenFile) {
  TempDir dir;
  const std::string path = dir.path() + "/live.json";
  ASSERT_TRUE(memx::write_report_atomically(sample_report(1), path, nullptr));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) {
      // Alternate sizes so a torn read would show as truncated or mixed JSON.
      memx::write_report_atomically(sample_report(i % 2 == 0 ? 400 : 3), path, nullptr);
    }
    done = true;
  });
  int reads = 0;
  while (!done || reads == 0) {
    const memx::ReportRead read = memx::read_report_file(path);
    ASSERT_TRUE(read.report.has_value()) << read.error;
    ++reads;
  }
  writer.join();
  EXPECT_GT(reads, 0);
}

TEST(ReadReportFile, MissingFileNamesThePath) {
  const memx::ReportRead read = memx::read_report_file("/nonexistent/memx-1.json");
  EXPECT_FALSE(read.report.has_value());
  EXPECT_EQ(read.error, "/nonexistent/memx-1.json: cannot open: No such file or directory");
}

TEST(Iso8601Utc, FormatsSecondsInUtc) {
  using std::chrono::system_clock;
  EXPECT_EQ(memx::iso8601_utc(system_clock::time_point{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(
      memx::iso8601_utc(system_clock::from_time_t(1714564800) + std::chrono::milliseconds(999)),
      "2024-05-01T12:00:00Z");
}

}  // namespace
