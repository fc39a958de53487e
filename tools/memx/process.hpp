// memx CLI: running a test binary (for `check`): capture its output, or start it and wait.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace memx::cli {

/// The result of run_captured.
struct Captured {
  bool started = false;  ///< false: it could not be run (error says why)
  int status = -1;       ///< exit status, or 128 + signal
  bool timed_out = false;  ///< killed after the timeout
  std::string output;    ///< stdout and stderr together
  std::string error;     ///< why it could not be run
};

/// Runs argv[0] with its arguments, stdin from /dev/null, stdout and stderr captured
/// together; kills it after `timeout_seconds`.
Captured run_captured(const std::vector<std::string>& argv, int timeout_seconds);

/// Starts argv[0]; its stdout and stderr go to `log_path` (or stay ours when empty).
/// Returns the pid, or -1 with *error set.
pid_t start(const std::vector<std::string>& argv, const std::string& log_path, std::string* error);

/// Waits up to `wait_ms` for `pid` (a negative wait_ms: until it ends); true and *status
/// (exit status or 128 + signal) once it has ended.
bool finished(pid_t pid, int wait_ms, int* status);

}  // namespace memx::cli
