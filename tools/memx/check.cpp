// memx check: runs a GoogleTest or Catch2 binary built with memx, with repetitions and a
// report, shows progress on a terminal, then the `show` table; exit 1 on budget failures,
// leaks or failing tests.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "process.hpp"
#include "show.hpp"

namespace memx::cli {
namespace {

enum class Framework { googletest, catch2 };

// GoogleTest's --help lists its --gtest_* flags; Catch2's names Catch and its options.
Framework detect(const std::vector<std::string>& command) {
  const Captured help = run_captured({command.front(), "--help"}, 60);
  if (!help.started) throw InputError(help.error);
  if (help.output.find("--gtest_list_tests") != std::string::npos) return Framework::googletest;
  if (help.output.find("--memx-repeat") != std::string::npos ||
      help.output.find("Catch") != std::string::npos ||
      help.output.find("--list-tests") != std::string::npos) {
    return Framework::catch2;
  }
  throw InputError(fmt::format(
      "{}: `--help` shows neither GoogleTest's nor Catch2's options: not a test binary built "
      "with memx? (--framework googletest|catch2 to say which)",
      command.front()));
}

// The number of tests the run will start, or 0 when unknown.
std::size_t count_tests(Framework f, const std::vector<std::string>& command) {
  std::vector<std::string> argv = command;
  argv.push_back(f == Framework::googletest ? "--gtest_list_tests" : "--list-test-names-only");
  const Captured list = run_captured(argv, 60);
  if (!list.started || list.status != 0) return 0;
  std::size_t n = 0;
  std::istringstream lines(list.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.rfind("memx", 0) == 0) continue;
    if (f == Framework::googletest ? line.rfind("  ", 0) == 0 : true) ++n;
  }
  return n;
}

// Test runs recorded so far in the (atomically rewritten) report.
std::size_t runs_done(const std::string& report_path) {
  const ReportRead r = read_report_file(report_path);
  if (!r.report) return 0;
  std::size_t n = 0;
  for (const TestRecord& t : r.report->tests) n += t.runs.size();
  return n;
}

std::string last_lines(const std::string& path, std::size_t count) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) {
    out += "  " + lines[i] + "\n";
  }
  return out;
}

}  // namespace

void register_check(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "check", "Run a GoogleTest or Catch2 binary built with memx, with repetitions and a "
               "report, then show its table; exit 1 on budget failures, leaks or failed tests");
  struct Args {
    int repeat = 5;
    std::string report;
    std::string framework = "auto";
    std::vector<std::string> command;
    ShowOptions show;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--repeat", args->repeat,
                  "Repetitions (--gtest_repeat / --memx-repeat); 3 or more judge leaks, 5 or "
                  "more with high confidence")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--report", args->report,
                  "Keep the report at this path (default: a temporary file, removed)");
  cmd->add_option("--framework", args->framework,
                  "auto (from the binary's --help), googletest or catch2")
      ->check(CLI::IsMember({"auto", "googletest", "catch2"}))
      ->capture_default_str();
  cmd->add_option("--sort", args->show.sort, "Sort the table (as memx show --sort)")
      ->capture_default_str();
  cmd->add_option("command", args->command,
                  "-- then the test binary and its own arguments (e.g. --gtest_filter=...)")
      ->required();
  cmd->footer(
      "Example: memx check --repeat 5 -- ./build/my_tests --gtest_filter='Parser.*'\n"
      "On a terminal the binary's output goes to a log file and a progress line shows the "
      "test runs done; elsewhere (CI) its output passes through.");
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      if (std::string bad = validate(args->show); !bad.empty()) throw InputError(bad);
      const std::vector<std::string>& command = args->command;
      const Framework framework =
          args->framework == "googletest" ? Framework::googletest
          : args->framework == "catch2"   ? Framework::catch2
                                          : detect(command);
      // A private directory for the default report and the log.
      std::string dir_template =
          (std::filesystem::temp_directory_path() / "memx-check-XXXXXX").string();
      if (::mkdtemp(dir_template.data()) == nullptr) {
        throw InputError(fmt::format("cannot create a temporary directory: {}",
                                     std::strerror(errno)));
      }
      const std::string dir = dir_template;
      struct Cleanup {
        std::string path;
        ~Cleanup() {
          std::error_code ec;
          std::filesystem::remove_all(path, ec);
        }
      } cleanup{dir};
      const std::string report_path = args->report.empty() ? dir + "/report.json" : args->report;
      if (!args->report.empty()) std::remove(args->report.c_str());  // no stale report

      std::vector<std::string> argv = command;
      if (framework == Framework::googletest) {
        argv.push_back(fmt::format("--gtest_repeat={}", args->repeat));
      } else {
        argv.push_back(fmt::format("--memx-repeat={}", args->repeat));
      }
      argv.push_back("--memx-report=" + report_path);

      const bool terminal = ::isatty(STDERR_FILENO) == 1;
      const std::size_t total = terminal ? count_tests(framework, command) * static_cast<std::size_t>(args->repeat) : 0;
      const std::string log = terminal ? dir + "/output.log" : "";
      const char* name = framework == Framework::googletest ? "GoogleTest" : "Catch2";
      fmt::print(io.err, "memx check: {} binary {}, {} repetition{}\n", name, command.front(),
                 args->repeat, args->repeat == 1 ? "" : "s");
      io.err.flush();
      std::string error;
      const pid_t pid = start(argv, log, &error);
      if (pid < 0) throw InputError(error);
      int status = 0;
      do {
        if (!terminal) continue;
        const std::size_t done = runs_done(report_path);
        if (total > 0) {
          fmt::print(io.err, "\rmemx check: {}/{} test runs done", std::min(done, total), total);
        } else {
          fmt::print(io.err, "\rmemx check: {} test runs done", done);
        }
        io.err.flush();
      } while (!finished(pid, 200, &status));
      if (terminal) fmt::print(io.err, "\r\x1b[K");

      ReportRead read = read_report_file(report_path);
      if (!read.report) {
        std::string tail = terminal ? last_lines(log, 20) : "";
        throw InputError(fmt::format(
            "{} exited with status {} and left no usable report ({}){}{}", command.front(),
            status, read.error,
            ": is it linked with memx::gtest_main or memx::catch2_main (or memx::gtest / the "
            "Catch2 listener)?",
            tail.empty() ? "" : "\nits last lines:\n" + tail));
      }
      const Report& report = *read.report;
      io.out << render_show(report, args->show, io.color);
      std::size_t over = 0, leaking = 0;
      for (const TestRecord& t : report.tests) {
        if (!t.violations.empty()) ++over;
        if (t.leak.verdict == Verdict::leak) ++leaking;
      }
      std::vector<std::string> problems;
      if (over > 0) problems.push_back(fmt::format("{} over budget", over));
      if (leaking > 0) problems.push_back(fmt::format("{} leaking", leaking));
      if (status != 0) {
        problems.push_back(fmt::format("the test binary exited with status {}", status));
        if (terminal) {
          fmt::print(io.err, "memx check: the last lines of the test binary's output:\n{}",
                     last_lines(log, 30));
        }
      }
      if (!report.complete) problems.push_back("the report is incomplete");
      if (!report.measured) {
        problems.push_back(fmt::format("nothing was measured ({} replaced memx's operator new)",
                                       report.tool.empty() ? "another tool" : report.tool));
      }
      if (!args->report.empty()) fmt::print(io.err, "memx check: report kept in {}\n", args->report);
      if (problems.empty()) {
        fmt::print(io.out, "memx check: passed\n");
        return kOk;
      }
      fmt::print(io.out, "memx check: FAILED: {}\n", fmt::join(problems, ", "));
      return kProblem;
    };
  });
}

}  // namespace memx::cli
