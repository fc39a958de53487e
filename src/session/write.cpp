// Intermediate reports: a temporary file renamed over the report, without fsync. They only
// have to survive the test process crashing, not the machine, and an fsync per finished
// test would cost more than the test. The final report goes through
// write_report_atomically (durable).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "session/write.hpp"

namespace memx::detail {

bool write_text_replacing(const std::string& path, const std::string& text, std::string* error) {
  auto fail = [&](const char* step, int err) {
    if (error != nullptr) {
      *error = "memx: cannot write report \"" + path + "\": " + step + " failed: " + std::strerror(err);
    }
    return false;
  };
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
  if (::fchmod(fd, 0644) != 0) return abandon("fchmod");
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon("write");
    done += static_cast<std::size_t>(n);
  }
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
  return true;
}

}  // namespace memx::detail
