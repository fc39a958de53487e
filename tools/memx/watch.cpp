// memx watch: runs a program linked with memx::watch under a leak watch (MEMX_WATCH and
// MEMX_WATCH_REPORT in its environment), forwards SIGINT/SIGTERM to it, and prints the
// analysis the program wrote. docs/leak-watch.md.
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <CLI/CLI.hpp>

#include "cli.hpp"
#include "process.hpp"

namespace memx::cli {
namespace {

volatile sig_atomic_t g_interrupts = 0;  // SIGINT or SIGTERM received by memx watch
volatile sig_atomic_t g_last_signal = SIGINT;

void on_interrupt(int sig) {
  g_last_signal = sig;
  g_interrupts = g_interrupts + 1;
}

// How the program ended, for messages: "exited with status 3", "was killed by signal 6 (SIGABRT)".
std::string ending(int status) {
  if (status > 128) {
    const int sig = status - 128;
    const char* name = sigabbrev_np(sig);
    return fmt::format("was killed by signal {}{}", sig,
                       name != nullptr ? fmt::format(" (SIG{})", name) : "");
  }
  return fmt::format("exited with status {}", status);
}

// The program's end not caused by memx watch's own SIGINT/SIGTERM and not a success.
bool failed(int status, int sent) {
  return status != 0 && !(sent != 0 && status == 128 + sent);
}

struct SignalsForwarded {
  struct sigaction old_int {
  }, old_term{};
  SignalsForwarded() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
  }
  ~SignalsForwarded() {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
  }
};

// The grace a program gets between the SIGINT of --duration and SIGKILL.
constexpr auto kStopGrace = std::chrono::seconds(10);

}  // namespace

void register_watch(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "watch",
      "Run a program linked with memx::watch under a leak watch and print the growth of its "
      "heap, RSS, descriptors and threads; exit 1 when something grows");
  struct Args {
    int interval = 100;
    double duration = 0;
    std::string report;
    std::vector<std::string> command;
    bool stacks = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--interval", args->interval, "Milliseconds between samples (MEMX_WATCH)")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str();
  cmd->add_option("--duration", args->duration,
                  "Seconds after which the program is sent SIGINT (0: until it ends or memx watch "
                  "gets SIGINT)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--report", args->report,
                  "Keep the watch's report at this path (%p: the program's pid; default: a "
                  "temporary file, removed)");
  cmd->add_flag("--stacks", args->stacks,
                "Stack mode (MEMX_STACKS=on): the allocation sites whose live bytes grow, by line");
  cmd->add_option("command", args->command, "-- then the program and its own arguments")
      ->required();
  cmd->footer(
      "Example: memx watch --interval 100 -- ./build/my_server --port 8080\n"
      "Ctrl-C (SIGINT) is forwarded to the program, which writes its report and ends; a second "
      "one kills it. Exit status: 0 no growth, 1 growth found, 2 no report (the program is not "
      "linked with memx::watch, or ended without writing one) or the program failed.");
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      const std::vector<std::string>& command = args->command;
      std::string dir;
      std::string pattern = args->report;
      if (pattern.empty()) {
        std::string dir_template =
            (std::filesystem::temp_directory_path() / "memx-watch-XXXXXX").string();
        if (::mkdtemp(dir_template.data()) == nullptr) {
          throw InputError(
              fmt::format("cannot create a temporary directory: {}", std::strerror(errno)));
        }
        dir = dir_template;
        pattern = dir + "/memx-watch-%p.json";
      }
      struct Cleanup {
        std::string dir;
        ~Cleanup() {
          if (dir.empty()) return;
          std::error_code ec;
          std::filesystem::remove_all(dir, ec);
        }
      } cleanup{dir};
      ::setenv("MEMX_WATCH", std::to_string(args->interval).c_str(), 1);
      ::setenv("MEMX_WATCH_REPORT", pattern.c_str(), 1);
      if (args->stacks) ::setenv("MEMX_STACKS", "on", 1);
      SignalsForwarded forwarded;
      g_interrupts = 0;
      std::string error;
      const pid_t pid = start(command, "", &error);
      if (pid < 0) throw InputError(error);
      const std::string path = expand_report_path(pattern, static_cast<long>(pid));
      fmt::print(io.err, "memx watch: watching {} (pid {}) every {} ms{}; Ctrl-C stops it\n",
                 command[0], pid, args->interval,
                 args->duration > 0 ? fmt::format(" for {} s", args->duration) : std::string());
      io.err.flush();

      using Clock = std::chrono::steady_clock;
      const auto began = Clock::now();
      int sent = 0;  // the signal memx watch sent (0: none)
      int seen = 0;  // interrupts forwarded
      Clock::time_point kill_at = Clock::time_point::max();
      int status = -1;
      while (!finished(pid, 50, &status)) {
        if (g_interrupts > seen) {
          seen = g_interrupts;
          if (sent == 0) {
            sent = g_last_signal;
            ::kill(pid, sent);
            fmt::print(io.err,
                       "memx watch: {} sent to {}; waiting for its report (again to kill it)\n",
                       sent == SIGINT ? "SIGINT" : "SIGTERM", command[0]);
          } else {
            ::kill(pid, SIGKILL);
          }
        }
        const auto now = Clock::now();
        if (sent == 0 && args->duration > 0 &&
            now - began >= std::chrono::duration<double>(args->duration)) {
          sent = SIGINT;
          ::kill(pid, SIGINT);
          kill_at = now + kStopGrace;
        }
        if (now >= kill_at) {
          fmt::print(io.err, "memx watch: {} did not end {} s after SIGINT: killed\n", command[0],
                     std::chrono::duration_cast<std::chrono::seconds>(kStopGrace).count());
          ::kill(pid, SIGKILL);
          kill_at = Clock::time_point::max();
        }
      }
      // A SIGINT from the terminal (or `timeout`) reaches the whole process group: the
      // program may have ended of it before it was forwarded.
      if (sent == 0 && g_interrupts > 0) sent = g_last_signal;
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        io.err << fmt::format(
            "memx watch: {} {} and wrote no watch report ({}): is it linked with memx::watch? "
            "(a program ended by a crash, _exit or a signal it does not leave to its default "
            "action writes none)\n",
            command[0], ending(status), path);
        return kBadInput;
      }
      const ReportRead read = read_report_file(path);
      if (!read.report) throw InputError(read.error);
      if (!read.report->watch)
        throw InputError(fmt::format("{}: no watch section: not a watch's report", path));
      io.out << describe(read.report->watch->analysis);
      if (!args->report.empty()) io.out << fmt::format("report: {}\n", path);
      if (failed(status, sent)) {
        io.err << fmt::format("memx watch: {} {}: the watch covers its run until then\n",
                              command[0], ending(status));
        return kBadInput;
      }
      return read.report->watch->analysis.leak ? kProblem : kOk;
    };
  });
}

}  // namespace memx::cli
