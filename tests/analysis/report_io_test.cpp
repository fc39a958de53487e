// Report files: atomic writes, what stands at the path, path patterns, timestamps.
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

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
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
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

// What stands at a report path: the writer never renames over anything but a regular file.

std::string read_whole(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

mode_t kind_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & S_IFMT;
}

// Device nodes are made privately in a temporary directory (never the machine's /dev), which
// needs root; CI runs as root.
#define MEMX_REQUIRE_ROOT()                                                          \
  do {                                                                               \
    if (::geteuid() != 0) GTEST_SKIP() << "not root: cannot mknod a private device node"; \
  } while (0)

// A private node of the character device major:minor (1:3 is /dev/null, 1:7 /dev/full).
std::string make_char_device(const TempDir& dir, const char* name, unsigned minor) {
  const std::string path = dir.path() + "/" + name;
  if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(1, minor)) != 0) {
    ADD_FAILURE() << "mknod " << path << ": " << std::strerror(errno);
  }
  return path;
}

TEST(WriteFileTarget, CharacterDeviceIsWrittenInPlaceAndStaysADevice) {
  MEMX_REQUIRE_ROOT();
  TempDir dir;
  const std::string null = make_char_device(dir, "null", 3);
  std::string error;
  ASSERT_TRUE(memx::write_file_atomically(null, "report", /*durable=*/true, &error)) << error;
  ASSERT_TRUE(memx::write_report_atomically(sample_report(2), null, &error)) << error;
  struct stat st {};
  ASSERT_EQ(::lstat(null.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(dir.files(), std::vector<std::string>{"null"});  // no temporary file left
  EXPECT_TRUE(memx::writes_directly(null));
}

TEST(WriteFileTarget, CharacterDeviceErrorsComeFromTheDeviceItself) {
  MEMX_REQUIRE_ROOT();
  TempDir dir;
  // /dev/full fails every write with ENOSPC: seen only when the device itself is written.
  const std::string full = make_char_device(dir, "full", 7);
  std::string error;
  EXPECT_FALSE(memx::write_file_atomically(full, "report", false, &error));
  EXPECT_EQ(error, "memx: cannot write report \"" + full +
                       "\": write failed: No space left on device");
  EXPECT_TRUE(S_ISCHR(kind_of(full)));
}

TEST(WriteFileTarget, SymlinkToACharacterDeviceWritesTheDevice) {
  MEMX_REQUIRE_ROOT();
  TempDir dir;
  const std::string null = make_char_device(dir, "null", 3);
  const std::string link = dir.path() + "/report.json";
  ASSERT_EQ(::symlink("null", link.c_str()), 0);
  std::string error;
  ASSERT_TRUE(memx::write_file_atomically(link, "report", false, &error)) << error;
  EXPECT_EQ(kind_of(link), S_IFLNK);
  EXPECT_EQ(kind_of(null), S_IFCHR);
}

TEST(WriteFileTarget, BlockDeviceIsRefused) {
  MEMX_REQUIRE_ROOT();
  TempDir dir;
  const std::string disk = dir.path() + "/disk";
  ASSERT_EQ(::mknod(disk.c_str(), S_IFBLK | 0600, makedev(7, 255)), 0) << std::strerror(errno);
  std::string error;
  EXPECT_FALSE(memx::write_file_atomically(disk, "report", false, &error));
  EXPECT_EQ(error, "memx: cannot write report \"" + disk +
                       "\": it is a block device (a report goes to a regular file, a character "
                       "device or a FIFO)");
  EXPECT_EQ(kind_of(disk), S_IFBLK);
}

TEST(WriteFileTarget, FifoIsWrittenInPlaceForItsReader) {
  MEMX_REQUIRE_ROOT();  // as the issue asks: a private node made with mknod
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mknod(fifo.c_str(), S_IFIFO | 0600, 0), 0) << std::strerror(errno);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  // Our own write end keeps the reader from seeing end-of-file before the writer opens.
  const int keep_open = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(keep_open, 0);
  // Larger than a pipe's buffer: the writer must wait for the reader, not give up.
  const std::string text(200000, 'x');
  std::string received;
  std::thread read_all([&] {
    ::fcntl(reader, F_SETFL, ::fcntl(reader, F_GETFL) & ~O_NONBLOCK);
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(reader, buffer, sizeof buffer);
      if (n <= 0) break;
      received.append(buffer, static_cast<std::size_t>(n));
    }
  });
  std::string error;
  const bool ok = memx::write_file_atomically(fifo, text, true, &error);
  ::close(keep_open);
  read_all.join();
  ::close(reader);
  ASSERT_TRUE(ok) << error;
  EXPECT_EQ(received.size(), text.size());
  EXPECT_EQ(kind_of(fifo), S_IFIFO);
  EXPECT_EQ(dir.files(), std::vector<std::string>{"fifo"});
  EXPECT_TRUE(memx::writes_directly(fifo));
}

TEST(WriteFileTarget, FifoWithoutAReaderFailsAtOnce) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  std::string error;
  EXPECT_FALSE(memx::write_file_atomically(fifo, "report", false, &error));  // no hang
  EXPECT_EQ(error, "memx: cannot write report \"" + fifo +
                       "\": no process has the FIFO open for reading");
  EXPECT_EQ(kind_of(fifo), S_IFIFO);
}

TEST(WriteFileTarget, SocketIsRefused) {
  TempDir dir;
  const std::string path = dir.path() + "/sock";
  const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  std::string error;
  EXPECT_FALSE(memx::write_file_atomically(path, "report", false, &error));
  EXPECT_EQ(error, "memx: cannot write report \"" + path +
                       "\": it is a socket (a report goes to a regular file, a character device "
                       "or a FIFO)");
  EXPECT_EQ(kind_of(path), S_IFSOCK);
  ::close(s);
}

TEST(WriteFileTarget, DirectoryIsRefused) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(memx::write_file_atomically(dir.path(), "report", false, &error));
  EXPECT_EQ(error, "memx: cannot write report \"" + dir.path() +
                       "\": it is a directory (a report goes to a regular file, a character "
                       "device or a FIFO)");
  EXPECT_TRUE(dir.files().empty());
}

TEST(WriteFileTarget, SymlinkIsFollowedAndItsTargetReplacedAtomically) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/real").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir.path() + "/links").c_str(), 0755), 0);
  const std::string target = dir.path() + "/real/r.json";
  const std::string link = dir.path() + "/links/r.json";
  const std::string link2 = dir.path() + "/links/r2.json";
  ASSERT_EQ(::symlink("../real/r.json", link.c_str()), 0);  // relative to the link's directory
  ASSERT_EQ(::symlink("r.json", link2.c_str()), 0);         // a chain of two
  std::string error;
  ASSERT_TRUE(memx::write_file_atomically(link2, "first", false, &error)) << error;  // dangling
  EXPECT_EQ(read_whole(target), "first");
  ASSERT_TRUE(memx::write_file_atomically(link, "second", true, &error)) << error;  // existing
  EXPECT_EQ(read_whole(target), "second");
  EXPECT_EQ(kind_of(link), S_IFLNK);
  EXPECT_EQ(kind_of(link2), S_IFLNK);
  EXPECT_EQ(kind_of(target), S_IFREG);
  // The temporary file was made (and renamed) next to the target, none left anywhere.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path() + "/real"),
                          std::filesystem::directory_iterator()),
            1);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path() + "/links"),
                          std::filesystem::directory_iterator()),
            2);
  EXPECT_FALSE(memx::writes_directly(link));
}

TEST(WriteFileTarget, SymlinkLoopAndSymlinkIntoAMissingDirectoryFailNamingBoth) {
  TempDir dir;
  const std::string a = dir.path() + "/a";
  const std::string b = dir.path() + "/b";
  ASSERT_EQ(::symlink("b", a.c_str()), 0);
  ASSERT_EQ(::symlink("a", b.c_str()), 0);
  std::string error;
  EXPECT_FALSE(memx::write_file_atomically(a, "report", false, &error));
  EXPECT_EQ(error, "memx: cannot write report \"" + a +
                       "\": following its symlinks failed: Too many levels of symbolic links");
  const std::string c = dir.path() + "/c";
  ASSERT_EQ(::symlink("nowhere/r.json", c.c_str()), 0);
  EXPECT_FALSE(memx::write_file_atomically(c, "report", false, &error));
  EXPECT_EQ(error, "memx: cannot write report \"" + c + "\" (a symlink to \"" + dir.path() +
                       "/nowhere/r.json\"): creating a temporary file failed: No such file or "
                       "directory");
  EXPECT_EQ(kind_of(a), S_IFLNK);
  EXPECT_EQ(kind_of(c), S_IFLNK);
}

TEST(WriteFileTarget, OpenDescriptorIsWrittenInPlace) {
  // /dev/stdout and /dev/fd/N lead to /proc/self/fd/N: the descriptor, here a pipe's end.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const std::string path = "/proc/self/fd/" + std::to_string(fds[1]);
  EXPECT_TRUE(memx::writes_directly(path));
  std::string error;
  ASSERT_TRUE(memx::write_file_atomically(path, "through the pipe", true, &error)) << error;
  ::close(fds[1]);
  char buffer[64] = {};
  EXPECT_EQ(::read(fds[0], buffer, sizeof buffer), 16);
  EXPECT_STREQ(buffer, "through the pipe");
  ::close(fds[0]);
}

TEST(WriteFileTarget, OpenDescriptorOnAFileAppendsToIt) {
  // `tests --memx-report=/dev/stdout > out.txt`: the report follows the output, the file
  // is not replaced.
  TempDir dir;
  const std::string file = dir.path() + "/out.txt";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "output\n", 7), 7);
  struct stat before {};
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  std::string error;
  ASSERT_TRUE(memx::write_file_atomically("/dev/fd/" + std::to_string(fd), "report\n", false,
                                          &error))
      << error;
  ::close(fd);
  struct stat after {};
  ASSERT_EQ(::stat(file.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(read_whole(file), "output\nreport\n");
}

TEST(WriteFileTarget, RegularFileAndMissingPathAreWrittenAtomically) {
  TempDir dir;
  const std::string path = dir.path() + "/r.json";
  EXPECT_FALSE(memx::writes_directly(path));
  std::string error;
  ASSERT_TRUE(memx::write_file_atomically(path, "one", false, &error)) << error;
  struct stat first {};
  ASSERT_EQ(::stat(path.c_str(), &first), 0);
  ASSERT_TRUE(memx::write_file_atomically(path, "two", false, &error)) << error;
  struct stat second {};
  ASSERT_EQ(::stat(path.c_str(), &second), 0);
  EXPECT_NE(first.st_ino, second.st_ino);  // renamed over, not rewritten in place
  EXPECT_EQ(read_whole(path), "two");
  EXPECT_FALSE(memx::writes_directly(path));
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

namespace {

// Descriptors of this process open on a deleted file ("... (deleted)").
int deleted_files_open() {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(e.path(), link_ec).string();
    if (!link_ec && target.size() > 10 && target.compare(target.size() - 10, 10, " (deleted)") == 0) ++n;
  }
  return n;
}

}  // namespace

// With a background thread, the report that a rename replaces is held open across the
// rename and closed by a job handed to it (its pages are freed there, not in the rename);
// without one, or when it refuses, nothing stays open.
TEST(WriteFileAtomically, TheReplacedFileIsClosedByTheBackgroundJob) {
  TempDir dir;
  const std::string path = dir.path() + "/r.json";
  std::vector<std::function<void()>> jobs;
  bool refuse = false;
  const memx::detail::Background background{[&](std::function<void()> job) {
    if (refuse) return false;
    jobs.push_back(std::move(job));
    return true;
  }};
  auto produce = [](std::string text) {
    return [text](const memx::TextSink& sink) { return sink(text); };
  };
  std::string error;
  const int before = deleted_files_open();
  // Nothing to replace: no job.
  ASSERT_TRUE(memx::write_file_atomically(path, produce("first"), false, &error, &background)) << error;
  EXPECT_TRUE(jobs.empty());
  // A report replaced: still open (deleted) until the job runs.
  ASSERT_TRUE(memx::write_file_atomically(path, produce("second"), true, &error, &background)) << error;
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(deleted_files_open(), before + 1);
  {
    std::ifstream in(path);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "second");
  }
  jobs.front()();
  EXPECT_EQ(deleted_files_open(), before);
  // A replaced file with another name left has no pages to free: closed at once.
  ASSERT_EQ(::link(path.c_str(), (dir.path() + "/other").c_str()), 0);
  ASSERT_TRUE(memx::write_file_atomically(path, produce("third"), false, &error, &background)) << error;
  EXPECT_EQ(jobs.size(), 1u);
  EXPECT_EQ(deleted_files_open(), before);
  // The file replaced (swapped out of the path, then its new name removed) is untouched.
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(dir.path() + "/other"), "second");
  EXPECT_EQ(read(path), "third");
  // A background that refuses: closed here.
  refuse = true;
  ASSERT_TRUE(memx::write_file_atomically(path, produce("fourth"), false, &error, &background)) << error;
  EXPECT_EQ(deleted_files_open(), before);
  EXPECT_EQ(dir.files().size(), 2u);  // r.json and other: no temporary file left
}
