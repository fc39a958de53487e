// memx CLI: starting test binaries with fork/exec, capturing output with a pipe and poll.
#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace memx::cli {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int decode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

// In the child: reports exec's failure through `fd` (close-on-exec) and exits 127.
[[noreturn]] void exec_or_report(const std::vector<std::string>& argv, int fd) {
  std::vector<char*> args = c_argv(argv);
  ::execvp(args[0], args.data());
  const int err = errno;
  ssize_t ignored = ::write(fd, &err, sizeof err);
  (void)ignored;
  ::_exit(127);
}

// Parent side of the exec-error pipe: 0 when exec succeeded, else the child's errno.
int exec_error(int fd) {
  int err = 0;
  ssize_t n;
  do {
    n = ::read(fd, &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  return n == static_cast<ssize_t>(sizeof err) ? err : 0;
}

}  // namespace

Captured run_captured(const std::vector<std::string>& argv, int timeout_seconds) {
  Captured out;
  int pipe_fds[2], errs[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0 || ::pipe2(errs, O_CLOEXEC) != 0) {
    out.error = fmt::format("pipe: {}", std::strerror(errno));
    return out;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    out.error = fmt::format("fork: {}", std::strerror(errno));
    return out;
  }
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    exec_or_report(argv, errs[1]);
  }
  ::close(pipe_fds[1]);
  ::close(errs[1]);
  if (const int err = exec_error(errs[0]); err != 0) {
    ::close(pipe_fds[0]);
    int ignored = 0;
    ::waitpid(pid, &ignored, 0);
    out.error = fmt::format("{}: cannot run: {}", argv[0], std::strerror(err));
    return out;
  }
  out.started = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  char buffer[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      out.timed_out = true;
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.output.size() < (16u << 20)) out.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  out.status = decode(wstatus);
  return out;
}

pid_t start(const std::vector<std::string>& argv, const std::string& log_path, std::string* error) {
  int log = -1;
  if (!log_path.empty()) {
    log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) {
      *error = fmt::format("{}: cannot create: {}", log_path, std::strerror(errno));
      return -1;
    }
  }
  int errs[2];
  if (::pipe2(errs, O_CLOEXEC) != 0) {
    *error = fmt::format("pipe: {}", std::strerror(errno));
    if (log >= 0) ::close(log);
    return -1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = fmt::format("fork: {}", std::strerror(errno));
    return -1;
  }
  if (pid == 0) {
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    exec_or_report(argv, errs[1]);
  }
  if (log >= 0) ::close(log);
  ::close(errs[1]);
  if (const int err = exec_error(errs[0]); err != 0) {
    int ignored = 0;
    ::waitpid(pid, &ignored, 0);
    *error = fmt::format("{}: cannot run: {}", argv[0], std::strerror(err));
    return -1;
  }
  return pid;
}

bool finished(pid_t pid, int wait_ms, int* status) {
  if (wait_ms < 0) {  // block: no polling, the status as soon as it has ended
    int wstatus = 0;
    pid_t r;
    while ((r = ::waitpid(pid, &wstatus, 0)) < 0 && errno == EINTR) {
    }
    *status = r == pid ? decode(wstatus) : -1;
    return true;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    int wstatus = 0;
    const pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) {
      *status = decode(wstatus);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      *status = -1;
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace memx::cli
