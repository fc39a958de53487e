// ResourceIds: /proc/self/fd and /proc/self/task, read with getdents64 into a buffer on the
// stack (no opendir: its stream allocates), and the grace period of a test's end.
#include "memx/resources.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <thread>

#include "memx/uncounted.hpp"
#include "sys/proc_file.hpp"

namespace memx {
namespace {

/// The layout getdents64 fills (struct linux_dirent64, not in glibc's headers before 2.30).
struct Dirent64 {
  std::uint64_t ino;
  std::int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

/// Calls `each(dir_fd, number, name)` for every numeric entry of the directory at `path`;
/// `self_fd` receives the descriptor the reading used (`dir_fd`). False when the directory
/// cannot be read.
template <class Each>
bool for_each_number(const char* path, int& self_fd, Each&& each) {
  int fd;
  do {
    fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  self_fd = fd;
  if (fd < 0) return false;
  alignas(8) char buf[4096];
  bool ok = true;
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    for (long pos = 0; pos < n;) {
      const auto* d = reinterpret_cast<const Dirent64*>(buf + pos);
      pos += d->reclen;
      std::int64_t v = 0;
      const char* c = d->name;
      if (*c < '0' || *c > '9') continue;  // "." and ".."
      for (; *c >= '0' && *c <= '9'; ++c) v = v * 10 + (*c - '0');
      if (*c == '\0') each(fd, v, d->name);
    }
  }
  ::close(fd);
  return ok;
}

template <class T>
void sorted_difference(const std::vector<T>& after, const std::vector<T>& before, std::vector<T>& out) {
  out.clear();
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(out));
}

}  // namespace

bool read_resource_ids(ResourceIds& out) {
  Uncounted guard;
  out.fds.clear();
  out.threads.clear();
  int dir_fd = -1;
  const bool fds_ok = for_each_number(
      "/proc/self/fd", dir_fd, [&](int dir, std::int64_t v, const char* name) {
        // The directory's own descriptor is listed with the others: it is the reading's, not
        // the process's (its number is free again now, and may be the test's next open).
        if (v == dir) return;
        struct stat st;
        // Closed since the listing: not open, not listed.
        if (::fstatat(dir, name, &st, 0) != 0) return;
        out.fds.push_back(OpenDescriptor{static_cast<int>(v), static_cast<std::uint64_t>(st.st_dev),
                                         static_cast<std::uint64_t>(st.st_ino)});
      });
  const bool threads_ok = for_each_number(
      "/proc/self/task", dir_fd, [&](int, std::int64_t v, const char*) { out.threads.push_back(v); });
  if (!fds_ok || !threads_ok) {
    out.fds.clear();
    out.threads.clear();
    return false;
  }
  // The kernel lists both in ascending order; sorting keeps the difference right anyway.
  if (!std::is_sorted(out.fds.begin(), out.fds.end())) std::sort(out.fds.begin(), out.fds.end());
  if (!std::is_sorted(out.threads.begin(), out.threads.end())) {
    std::sort(out.threads.begin(), out.threads.end());
  }
  return true;
}

ResourceIds added_resources(const ResourceIds& before, const ResourceIds& after) {
  ResourceIds out;
  sorted_difference(after.fds, before.fds, out.fds);
  sorted_difference(after.threads, before.threads, out.threads);
  return out;
}

ResourceIds settle_added_resources(const ResourceIds& before, ResourceIds& scratch,
                                   std::chrono::milliseconds grace) {
  Uncounted guard;
  if (!read_resource_ids(scratch)) return {};
  ResourceIds added = added_resources(before, scratch);
  std::chrono::milliseconds waited{0};
  std::chrono::milliseconds step{1};
  while (!added.empty() && waited < grace) {
    const auto wait = std::min(step, grace - waited);
    std::this_thread::sleep_for(wait);
    waited += wait;
    step *= 2;
    if (!read_resource_ids(scratch)) return {};
    // Only what was new and still is: a descriptor or thread that appears during the grace
    // period (a thread still starting another) is not the test's any more than it was.
    const ResourceIds now = added_resources(before, scratch);
    ResourceIds still;
    std::set_intersection(added.fds.begin(), added.fds.end(), now.fds.begin(), now.fds.end(),
                          std::back_inserter(still.fds));
    std::set_intersection(added.threads.begin(), added.threads.end(), now.threads.begin(),
                          now.threads.end(), std::back_inserter(still.threads));
    added = std::move(still);
  }
  return added;
}

std::optional<std::string> descriptor_target(int fd) {
  Uncounted guard;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char target[4096];
  const ssize_t n = ::readlink(path, target, sizeof target);
  if (n < 0) return std::nullopt;
  return std::string(target, static_cast<std::size_t>(n));
}

std::optional<std::string> thread_name(std::int64_t tid) {
  Uncounted guard;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%lld/comm", static_cast<long long>(tid));
  char buf[64];
  // A thread that has exited is gone from /proc/self/task: the file cannot be opened.
  if (::access(path, F_OK) != 0) return std::nullopt;
  std::size_t n = detail::read_proc_file(path, buf, sizeof buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0')) --n;
  return std::string(buf, n);
}

}  // namespace memx
