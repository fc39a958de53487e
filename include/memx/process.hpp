// memx: a snapshot of the process's resources, read from /proc/self.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace memx {

/// The fields memx uses from /proc/<pid>/stat.
struct ProcStat {
  std::uint64_t utime_ticks = 0;      ///< user CPU time, clock ticks (field 14)
  std::uint64_t stime_ticks = 0;      ///< system CPU time, clock ticks (field 15)
  std::int64_t num_threads = 0;       ///< threads (field 20)
  std::uint64_t starttime_ticks = 0;  ///< start after boot, clock ticks (field 22)
  std::uint64_t vsize_bytes = 0;      ///< virtual memory size (field 23)
  std::int64_t rss_pages = 0;         ///< resident pages (field 24)
};

/// Parses the text of /proc/<pid>/stat. The command name (field 2) may hold spaces and
/// parentheses; parsing resumes after its last ')'. nullopt on malformed text.
std::optional<ProcStat> parse_proc_stat(std::string_view text) noexcept;

/// Resources of the whole process at one moment.
struct ProcessSnapshot {
  std::int64_t rss_bytes = 0;          ///< resident set size
  std::int64_t vms_bytes = 0;          ///< virtual memory size
  double cpu_user_seconds = 0;         ///< user CPU time since the process started
  double cpu_system_seconds = 0;       ///< system CPU time since the process started
  double wall_seconds = 0;             ///< wall time since the process started
  double cpu_percent = 0;              ///< CPU time / wall time since start, in percent (as ps)
  std::int64_t threads = 0;            ///< threads in the process
  std::int64_t open_fds = 0;           ///< open file descriptors
  bool valid = false;                  ///< false when /proc/self could not be read

  /// Reads /proc/self/stat, /proc/self/statm and /proc/self/fd, getrusage and CLOCK_BOOTTIME.
  static ProcessSnapshot capture() noexcept;

  /// CPU use between an earlier snapshot and this one, in percent of one core.
  double cpu_percent_since(const ProcessSnapshot& earlier) const noexcept;
};

}  // namespace memx
