// Report files: atomic writing, path patterns, timestamps, reading from disk.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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

// What stands at a report path once its symlinks are followed, and so how it is written.
struct Target {
  enum class Kind {
    file,     // a regular file or nothing: written atomically (temporary file + rename)
    direct,   // a character device, a FIFO or an open descriptor: written in place
    refused,  // a socket, a directory, a block device: never written
    error,    // the path could not be examined (`step` failed with `error`)
  };
  Kind kind = Kind::error;
  std::string path;  // where to write: `path` itself or the end of its symlinks
  std::string what;  // refused: what stands there ("a socket"); error: the step that failed
  int error = 0;     // error: errno
  bool fifo = false;
};

// True for a symlink on procfs: /proc/<pid>/fd/N (what /dev/stdout and /dev/fd/N lead to)
// names an open descriptor, not a path that could be read back.
bool on_procfs(const std::string& path) {
  struct statfs fs {};
  return ::statfs(parent_directory(path).c_str(), &fs) == 0 &&
         fs.f_type == static_cast<decltype(fs.f_type)>(PROC_SUPER_MAGIC);
}

std::string link_target(const std::string& link, int* error) {
  std::vector<char> buffer(256);
  for (;;) {
    const ssize_t n = ::readlink(link.c_str(), buffer.data(), buffer.size());
    if (n < 0) {
      *error = errno;
      return {};
    }
    if (static_cast<std::size_t>(n) < buffer.size()) {
      std::string target(buffer.data(), static_cast<std::size_t>(n));
      if (target.empty() || target.front() == '/') return target;
      const std::string dir = parent_directory(link);
      return (dir == "/" ? dir : dir + "/") + target;
    }
    buffer.resize(buffer.size() * 2);
  }
}

Target classify(const std::string& path, const struct stat& st, bool descriptor) {
  Target t;
  t.path = path;
  if (S_ISREG(st.st_mode)) {
    t.kind = descriptor ? Target::Kind::direct : Target::Kind::file;
  } else if (S_ISCHR(st.st_mode)) {
    t.kind = Target::Kind::direct;
  } else if (S_ISFIFO(st.st_mode)) {
    t.kind = Target::Kind::direct;
    t.fifo = true;
  } else {
    t.kind = Target::Kind::refused;
    t.what = S_ISSOCK(st.st_mode)  ? "a socket"
             : S_ISDIR(st.st_mode) ? "a directory"
             : S_ISBLK(st.st_mode) ? "a block device"
                                   : "not a file";
  }
  return t;
}

Target resolve(const std::string& path) {
  std::string current = path;
  // Linux follows at most 40 symlinks in one lookup; so does memx.
  for (int hop = 0; hop <= 40; ++hop) {
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) {
      Target t;
      t.path = current;
      if (errno == ENOENT) {
        t.kind = Target::Kind::file;  // nothing there yet (a missing directory fails later)
      } else {
        t.what = "stat";
        t.error = errno;
      }
      return t;
    }
    if (!S_ISLNK(st.st_mode)) return classify(current, st, false);
    if (on_procfs(current)) {
      // /dev/stdout, /dev/fd/N, /proc/self/fd/N: what the descriptor is open on.
      if (::stat(current.c_str(), &st) != 0) {
        Target t;
        t.path = current;
        t.what = "stat";
        t.error = errno;
        return t;
      }
      return classify(current, st, true);
    }
    int err = 0;
    std::string next = link_target(current, &err);
    if (err != 0) {
      Target t;
      t.path = current;
      t.what = "readlink";
      t.error = err;
      return t;
    }
    current = std::move(next);
  }
  Target t;
  t.path = path;
  t.what = "following its symlinks";
  t.error = ELOOP;
  return t;
}


// Writes `text` into what is already open for it: a character device, a FIFO, a descriptor.
// `shown` names the path in messages.
bool write_directly(const Target& target, const std::function<bool(const TextSink&)>& produce,
                    const std::string& shown, std::string* error) {
  auto fail = [&](const std::string& what) {
    if (error != nullptr) *error = fmt::format("memx: cannot write report {}: {}", shown, what);
    return false;
  };
  // O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of hanging the run.
  // O_APPEND: through /dev/stdout into a file, the report follows what was written before.
  const int fd = ::open(target.path.c_str(),
                        O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENXIO && target.fifo) return fail("no process has the FIFO open for reading");
    if (err == ENXIO) return fail("it is a socket (memx does not write reports to sockets)");
    return fail(fmt::format("open failed: {}", std::strerror(err)));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  const TextSink sink = [fd](std::string_view piece) { return write_all(fd, piece); };
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || !produce(sink)) {
    const int err = errno;
    ::close(fd);
    return fail(fmt::format("write failed: {}", std::strerror(err)));
  }
  if (::close(fd) != 0 && errno != EINTR) {
    return fail(fmt::format("close failed: {}", std::strerror(errno)));
  }
  return true;
}

// Makes a fresh file `<final_path>.tmpXXXXXX` (mkstemp's: mode 0600, never one that was
// there) and puts its name in `temp`: the descriptor, or -1 (errno set).
int make_temp_beside(const std::string& final_path, std::string& temp) {
  std::vector<char> name(final_path.begin(), final_path.end());
  const std::string_view suffix = ".tmpXXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd >= 0) temp.assign(name.data());
  return fd;
}

// Renames `temp` over `final_path` (a regular file or nothing). The file the rename
// replaces (an earlier report, of this run or the last) is held open across the rename, so
// that its pages are freed when `background` closes it, not inside the rename. Read-only,
// never a FIFO's wait or a terminal; a file we may not read is replaced as before. False
// (errno set, `temp` removed) when the rename fails.
//
// A regular file there is swapped with `temp` (renameat2's RENAME_EXCHANGE), then its new
// name removed: ext4 (data=ordered, auto_da_alloc) starts writing back a file renamed over
// another one inside the rename, on the calling thread, 10-15 ms for a report of 100,000
// tests; an exchange is never flushed. The report is not fsync'ed either way (see
// write_file_atomically's callers): the same guarantee, without the wait.
bool rename_over(const std::string& temp, const std::string& final_path, const detail::Background* background) {
  const int replaced =
      background != nullptr && background->run
          ? ::open(final_path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC)
          : -1;
  struct stat st {};
  const bool regular = replaced >= 0 && ::fstat(replaced, &st) == 0 && S_ISREG(st.st_mode);
  bool exchanged = false;
#ifdef RENAME_EXCHANGE
  if (regular && ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_EXCHANGE) == 0) {
    exchanged = true;
    // `temp` names what stood at the path: its name goes (its pages stay with `replaced`).
    // Something other than a file put there meanwhile (a directory) is put back.
    if (::unlink(temp.c_str()) != 0) {
      const int err = errno;
      ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_EXCHANGE);
      ::unlink(temp.c_str());
      ::close(replaced);
      errno = err;
      return false;
    }
  }
#endif
  if (!exchanged && ::rename(temp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    if (replaced >= 0) ::close(replaced);
    errno = err;
    return false;
  }
  if (replaced >= 0) {
    // Only a regular file whose last name went with the rename has pages to free.
    const bool last = regular && ::fstat(replaced, &st) == 0 && st.st_nlink == 0;
    if (!last || !background->run([replaced] { ::close(replaced); })) ::close(replaced);
  }
  return true;
}

}  // namespace

namespace detail {

int open_unnamed_report_file(const std::string& path) {
#ifdef O_TMPFILE
  if (path.empty()) return -1;
  const Target target = resolve(path);
  if (target.kind != Target::Kind::file) return -1;
  const int fd = ::open(parent_directory(target.path).c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  // As write_file_atomically's files: an ordinary readable file whatever the umask.
  if (::fchmod(fd, 0644) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
#else
  (void)path;
  return -1;
#endif
}

bool name_unnamed_report_file(int fd, const std::string& path, const Background* background) {
  const Target target = resolve(path);
  if (target.kind != Target::Kind::file) {
    errno = EINVAL;
    return false;
  }
  const std::string& final_path = target.path;
  // A fresh name beside the report (mkstemp's, freed again), linked to the file: linkat
  // never replaces what is there, so a name taken meanwhile fails it (EEXIST).
  std::string temp;
  const int placeholder = make_temp_beside(final_path, temp);
  if (placeholder < 0) return false;
  ::close(placeholder);
  ::unlink(temp.c_str());
  const std::string self = fmt::format("/proc/self/fd/{}", fd);
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) != 0) return false;
  return rename_over(temp, final_path, background);
}

}  // namespace detail

bool writes_directly(const std::string& path) {
  return !path.empty() && resolve(path).kind == Target::Kind::direct;
}

bool write_file_atomically(const std::string& path, std::string_view text, bool durable,
                           std::string* error) {
  return write_file_atomically(
      path, [text](const TextSink& sink) { return sink(text); }, durable, error);
}

bool write_file_atomically(const std::string& path,
                           const std::function<bool(const TextSink&)>& produce, bool durable,
                           std::string* error) {
  return write_file_atomically(path, produce, durable, error, nullptr);
}

bool write_file_atomically(const std::string& path,
                           const std::function<bool(const TextSink&)>& produce, bool durable,
                           std::string* error, const detail::Background* background) {
  if (path.empty()) {
    if (error != nullptr) *error = "memx: cannot write report: empty path";
    return false;
  }
  const Target target = resolve(path);
  // Messages name the path as given, and where its symlinks lead when that is elsewhere.
  const std::string shown =
      target.path == path ? fmt::format("\"{}\"", path)
                          : fmt::format("\"{}\" (a symlink to \"{}\")", path, target.path);
  auto fail = [&](const char* step, int err) {
    if (error != nullptr) {
      *error = fmt::format("memx: cannot write report {}: {} failed: {}", shown, step,
                           std::strerror(err));
    }
    return false;
  };
  switch (target.kind) {
    case Target::Kind::error:
      return fail(target.what.c_str(), target.error);
    case Target::Kind::refused:
      if (error != nullptr) {
        *error = fmt::format(
            "memx: cannot write report {}: it is {} (a report goes to a regular file, a "
            "character device or a FIFO)",
            shown, target.what);
      }
      return false;
    case Target::Kind::direct:
      return write_directly(target, produce, shown, error);
    case Target::Kind::file:
      break;
  }
  // A regular file or nothing: never rename over anything else (a symlink is followed, so
  // the temporary file is made next to its target).
  const std::string& final_path = target.path;
  std::string temp;
  const int fd = make_temp_beside(final_path, temp);
  if (fd < 0) return fail("creating a temporary file", errno);
  auto abandon = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return fail(step, err);
  };
  // mkstemp creates 0600; a report is an ordinary readable file.
  if (::fchmod(fd, 0644) != 0) return abandon("fchmod");
  // A durable file's pieces are sent to the disk as they are written (sync_file_range
  // starts the writeback and does not wait), so that the fsync at the end waits for the
  // last pieces, not for the whole file: a large report's final write is on the time from
  // the last test to the process's exit.
  off_t written = 0;
  const TextSink sink = [fd, durable, &written](std::string_view piece) {
    if (!write_all(fd, piece)) return false;
    if (durable) {
      ::sync_file_range(fd, written, static_cast<off_t>(piece.size()), SYNC_FILE_RANGE_WRITE);
      written += static_cast<off_t>(piece.size());
    }
    return true;
  };
  if (errno = 0; !produce(sink)) {
    if (errno == 0) errno = EIO;
    return abandon("write");
  }
  if (durable && ::fsync(fd) != 0) return abandon("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return fail("close", err);
  }
  if (!rename_over(temp, final_path, background)) return fail("rename", errno);
  if (durable) {
    // Make the rename itself durable; failure here does not undo a complete, visible file.
    const int dir =
        ::open(parent_directory(final_path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
  return write_file_atomically(
      path, [&report](const TextSink& sink) { return write_json(report, sink); }, true, error);
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

bool make_parent_directories(const std::string& path, std::string* error) {
  const std::string dir = parent_directory(path);
  // Each missing directory from the top down; one that exists already is fine.
  for (std::size_t at = dir.find('/', 1); ; at = dir.find('/', at + 1)) {
    const std::string part = at == std::string::npos ? dir : dir.substr(0, at);
    struct stat st {};
    if (!part.empty() && ::stat(part.c_str(), &st) != 0) {
      if (::mkdir(part.c_str(), 0777) != 0 && errno != EEXIST) {
        if (error != nullptr) {
          *error = fmt::format("memx: cannot create the report directory \"{}\": {}", part,
                               std::strerror(errno));
        }
        return false;
      }
    }
    if (at == std::string::npos) return true;
  }
}

std::string make_run_id(std::chrono::system_clock::time_point t, long pid) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  std::string when = iso8601_utc(t);  // "...T11:04:20Z"
  when.insert(when.size() - 1, fmt::format(".{:06}", micros < 0 ? micros + 1000000 : micros));
  return fmt::format("{}/{}", when, pid);
}

ReportRead read_report_file(const std::string& path) {
  ReportRead out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
    return out;
  }
  out = read_report_fd(fd, path);  // read in chunks: never the whole file in memory
  ::close(fd);
  return out;
}

}  // namespace memx
