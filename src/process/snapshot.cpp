// ProcessSnapshot: /proc/self/stat, statm, /proc/uptime and the /proc/self/fd directory.
#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>


#include "memx/process.hpp"
#include "memx/rss.hpp"
#include "memx/uncounted.hpp"
#include "sys/proc_file.hpp"

namespace memx {
namespace {

/// Parses the whitespace-separated unsigned field at `pos` (advancing it); false if none.
bool next_field(std::string_view s, std::size_t& pos, std::string_view& field) noexcept {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n')) ++pos;
  if (pos == s.size()) return false;
  const std::size_t begin = pos;
  while (pos < s.size() && s[pos] != ' ' && s[pos] != '\n') ++pos;
  field = s.substr(begin, pos - begin);
  return true;
}

bool to_u64(std::string_view f, std::uint64_t& out) noexcept {
  if (f.empty()) return false;
  std::uint64_t v = 0;
  for (char c : f) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

bool to_i64(std::string_view f, std::int64_t& out) noexcept {
  const bool negative = !f.empty() && f.front() == '-';
  std::uint64_t v = 0;
  if (!to_u64(negative ? f.substr(1) : f, v) || v > static_cast<std::uint64_t>(INT64_MAX)) {
    return false;
  }
  out = negative ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
  return true;
}

std::int64_t count_open_fds() noexcept {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::int64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

double ticks_to_seconds(std::uint64_t ticks) noexcept {
  static const long hz = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) noexcept {
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  // Fields after the command name start at field 3 (state).
  std::size_t pos = close + 1;
  std::string_view f;
  ProcStat st;
  for (int field = 3; field <= 24; ++field) {
    if (!next_field(text, pos, f)) return std::nullopt;
    bool ok = true;
    switch (field) {
      case 14: ok = to_u64(f, st.utime_ticks); break;
      case 15: ok = to_u64(f, st.stime_ticks); break;
      case 20: ok = to_i64(f, st.num_threads); break;
      case 22: ok = to_u64(f, st.starttime_ticks); break;
      case 23: ok = to_u64(f, st.vsize_bytes); break;
      case 24: ok = to_i64(f, st.rss_pages); break;
      default: break;
    }
    if (!ok) return std::nullopt;
  }
  return st;
}

ProcessSnapshot ProcessSnapshot::capture() noexcept {
  Uncounted guard;  // opendir allocates with the C library; nothing here is the user's
  ProcessSnapshot snap;
  char buf[1024];
  std::size_t n = detail::read_proc_file("/proc/self/stat", buf, sizeof buf);
  const auto st = parse_proc_stat(std::string_view(buf, n));
  if (!st) return snap;
  // getrusage and CLOCK_BOOTTIME have microsecond resolution; /proc's ticks only 10 ms.
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    snap.cpu_user_seconds = static_cast<double>(usage.ru_utime.tv_sec) +
                            static_cast<double>(usage.ru_utime.tv_usec) * 1e-6;
    snap.cpu_system_seconds = static_cast<double>(usage.ru_stime.tv_sec) +
                              static_cast<double>(usage.ru_stime.tv_usec) * 1e-6;
  } else {
    snap.cpu_user_seconds = ticks_to_seconds(st->utime_ticks);
    snap.cpu_system_seconds = ticks_to_seconds(st->stime_ticks);
  }
  snap.threads = st->num_threads;
  snap.vms_bytes = static_cast<std::int64_t>(st->vsize_bytes);
  static const long page = ::sysconf(_SC_PAGESIZE);
  if (const auto statm = read_statm()) {
    snap.rss_bytes = static_cast<std::int64_t>(statm->resident) * page;
  } else {
    snap.rss_bytes = st->rss_pages * page;
  }
  timespec boot{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  const double uptime = static_cast<double>(boot.tv_sec) + static_cast<double>(boot.tv_nsec) * 1e-9;
  snap.wall_seconds = uptime - ticks_to_seconds(st->starttime_ticks);
  const double cpu = snap.cpu_user_seconds + snap.cpu_system_seconds;
  snap.cpu_percent = snap.wall_seconds > 0 ? 100.0 * cpu / snap.wall_seconds : 0.0;
  snap.open_fds = count_open_fds();
  snap.valid = true;
  return snap;
}

double ProcessSnapshot::cpu_percent_since(const ProcessSnapshot& earlier) const noexcept {
  const double wall = wall_seconds - earlier.wall_seconds;
  const double cpu = (cpu_user_seconds + cpu_system_seconds) -
                     (earlier.cpu_user_seconds + earlier.cpu_system_seconds);
  return wall > 0 ? 100.0 * cpu / wall : 0.0;
}

}  // namespace memx
