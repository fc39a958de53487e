// memx: the open file descriptors and live threads of the process (/proc/self/fd and
// /proc/self/task), and which of them appeared between two moments: a test's descriptor and
// thread leaks (docs/leak-verdicts.md, "Descriptors and threads").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memx {

/// One open descriptor: its number and the file it refers to (the device and inode that
/// stat(/proc/self/fd/N) gives). A number closed and opened again on another file (a pipe
/// taking the number another thread's short-lived descriptor had) is another descriptor.
struct OpenDescriptor {
  int number = -1;
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;

  friend bool operator<(const OpenDescriptor& a, const OpenDescriptor& b) noexcept {
    if (a.number != b.number) return a.number < b.number;
    if (a.dev != b.dev) return a.dev < b.dev;
    return a.ino < b.ino;
  }
  friend bool operator==(const OpenDescriptor& a, const OpenDescriptor& b) noexcept {
    return a.number == b.number && a.dev == b.dev && a.ino == b.ino;
  }
};

/// The descriptors and threads of the process at one moment.
struct ResourceIds {
  std::vector<OpenDescriptor> fds;    ///< open descriptors, ascending
  std::vector<std::int64_t> threads;  ///< thread ids (tids), ascending

  /// True when there is neither a descriptor nor a thread.
  bool empty() const noexcept { return fds.empty() && threads.empty(); }
};

/// Reads /proc/self/fd and /proc/self/task into `out` (reusing its capacity: no allocation
/// once it is large enough). The descriptor the reading itself opens is not listed. False,
/// and `out` empty, when /proc/self cannot be read. Call under memx::Uncounted.
bool read_resource_ids(ResourceIds& out);

/// What `after` holds that `before` does not (both ascending): the descriptors and threads
/// that appeared in between. A descriptor is known by its number and file, a thread by its
/// tid: a number closed and opened again in between on another file is new (the RSS
/// sampler's short-lived /proc/self/statm descriptor in `before` does not hide the test's
/// pipe that takes its number later).
ResourceIds added_resources(const ResourceIds& before, const ResourceIds& after);

/// How long a test's new threads and descriptors may take to go away at its end before
/// they are leaks: 100 ms in all, re-read after 1, 2, 4, 8, 16, 32 and 37 ms.
inline constexpr std::chrono::milliseconds kResourceGrace{100};

/// The descriptors and threads new since `before` that are still there once they have had
/// `grace` to go away. Reads once; only when something is new does it wait and read again,
/// after 1, 2, 4, ... ms (the last wait cut to end at `grace`), until nothing is new or the
/// grace period is over: a test that leaves nothing pays one reading. `scratch` is reused.
ResourceIds settle_added_resources(const ResourceIds& before, ResourceIds& scratch,
                                   std::chrono::milliseconds grace = kResourceGrace);

/// What descriptor `fd` refers to, as readlink(/proc/self/fd/FD) gives it: a path
/// ("/tmp/data.txt"), "socket:[12345]", "pipe:[678]", "anon_inode:[eventfd]"; nullopt
/// when it is not open (closed since it was listed).
std::optional<std::string> descriptor_target(int fd);

/// The name of thread `tid` of this process (/proc/self/task/TID/comm, at most 15
/// characters; the program's name for a thread never named); nullopt when the thread is gone.
std::optional<std::string> thread_name(std::int64_t tid);

}  // namespace memx
