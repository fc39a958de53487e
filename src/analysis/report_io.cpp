// Report files: atomic writing, path patterns, timestamps, reading from disk.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "memx/report.hpp"

namespace memx {
namespace {

std::string parent_directory(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool write_all(int fd, std::string_view data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

bool write_file_atomically(const std::string& path, std::string_view text, bool durable,
                           std::string* error) {
  auto fail = [&](const char* step, int err) {
    if (error != nullptr) {
      *error = fmt::format("memx: cannot write report \"{}\": {} failed: {}", path, step,
                           std::strerror(err));
    }
    return false;
  };
  if (path.empty()) {
    if (error != nullptr) *error = "memx: cannot write report: empty path";
    return false;
  }
  std::string temp = path + ".tmpXXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return fail("creating a temporary file", errno);
  temp.assign(name.data());
  auto abandon = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return fail(step, err);
  };
  // mkstemp creates 0600; a report is an ordinary readable file.
  if (::fchmod(fd, 0644) != 0) return abandon("fchmod");
  if (!write_all(fd, text)) return abandon("write");
  if (durable && ::fsync(fd) != 0) return abandon("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return fail("close", err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return fail("rename", err);
  }
  if (durable) {
    // Make the rename itself durable; failure here does not undo a complete, visible file.
    const int dir = ::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return true;
}

bool write_report_atomically(const Report& report, const std::string& path, std::string* error) {
  if (path.empty()) {
    if (error != nullptr) *error = "memx: cannot write report: empty path";
    return false;
  }
  return write_file_atomically(path, to_json(report), true, error);
}

std::string expand_report_path(std::string_view pattern, long pid) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      if (pattern[i + 1] == 'p') {
        out += std::to_string(pid);
        ++i;
        continue;
      }
      if (pattern[i + 1] == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += pattern[i];
  }
  const std::string file = fmt::format("memx-{}.json", pid);
  if (out.empty()) return file;
  if (out.back() == '/') return out + file;
  if (is_directory(out)) return out + "/" + file;
  return out;
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buffer[32];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

ReportRead read_report_file(const std::string& path) {
  ReportRead out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
    return out;
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = fmt::format("{}: cannot read: {}", path, std::strerror(errno));
      ::close(fd);
      return out;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return read_report(text, path);
}

}  // namespace memx
