// Reading small /proc files with open/read/close: no stdio (its buffers allocate and its
// locks are unsafe in a sampler thread), no allocation at all.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace memx::detail {

/// Reads up to size bytes of path into buf; returns the byte count, 0 on any failure.
inline std::size_t read_proc_file(const char* path, char* buf, std::size_t size) noexcept {
  int fd;
  do {
    fd = ::open(path, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return 0;
  std::size_t total = 0;
  while (total < size) {
    const ssize_t n = ::read(fd, buf + total, size - total);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return total;
}

}  // namespace memx::detail
