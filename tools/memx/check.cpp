// memx check: runs a GoogleTest or Catch2 binary built with memx, with repetitions and a
// report, shows progress on a terminal, then the `show` table; exit 1 on budget failures,
// leaks or failing tests.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
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
#include "memx/units.hpp"
#include "show.hpp"
#include "two_phase.hpp"

namespace memx::cli {
namespace {

/// Repetitions of the stack-mode rerun: enough for the verdict by site (refine_leak_by_sites).
constexpr int kSiteRepetitions = 3;

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
  // Catch2 2.x exits with the number of tests it listed.
  if (!list.started || list.timed_out || (f == Framework::googletest && list.status != 0)) return 0;
  std::size_t n = 0;
  std::istringstream lines(list.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.rfind("memx", 0) == 0) continue;
    if (f == Framework::googletest ? line.rfind("  ", 0) == 0 : true) ++n;
  }
  return n;
}

// Catch2's test case names (--list-test-names-only), for test specs of a rerun.
std::vector<std::string> catch2_test_cases(const std::vector<std::string>& command) {
  std::vector<std::string> argv = command;
  argv.push_back("--list-test-names-only");
  const Captured list = run_captured(argv, 60);
  std::vector<std::string> names;
  if (!list.started || list.timed_out) return names;  // Catch2 2.x exits with the count
  std::istringstream lines(list.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.rfind("memx", 0) == 0) continue;
    // Catch2 2.x quotes a name that starts with '#'.
    if (line.size() >= 2 && line.front() == '"' && line.back() == '"' && line[1] == '#') {
      line = line.substr(1, line.size() - 2);
    }
    names.push_back(line);
  }
  return names;
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
    bool stacks = false;
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
  cmd->add_flag("--stacks", args->stacks,
                "Two phases: the whole run in counting mode, then only the tests judged leaking "
                "or over budget again in stack mode (--memx-stacks), their allocation sites "
                "merged into the report and shown");
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

      const bool terminal = ::isatty(STDERR_FILENO) == 1;
      const std::string log = terminal ? dir + "/output.log" : "";
      // Runs the binary with `extra` arguments and memx's repetitions and report, showing
      // progress out of `total` test runs on a terminal; returns its exit status.
      auto run = [&](const std::vector<std::string>& extra, const std::string& report_file,
                     int repeat, std::size_t total, const std::string& log_file) {
        std::vector<std::string> argv = command;
        argv.insert(argv.end(), extra.begin(), extra.end());
        if (framework == Framework::googletest) {
          argv.push_back(fmt::format("--gtest_repeat={}", repeat));
        } else {
          argv.push_back(fmt::format("--memx-repeat={}", repeat));
        }
        argv.push_back("--memx-report=" + report_file);
        std::string error;
        const pid_t pid = start(argv, log_file, &error);
        if (pid < 0) throw InputError(error);
        int status = 0;
        // Off a terminal nothing is shown while it runs: a blocking wait, which returns as it
        // ends (polling every 20 ms cost each run 10 ms on average, twice with --stacks).
        if (!terminal) {
          finished(pid, -1, &status);
          return status;
        }
        do {
          const std::size_t done = runs_done(report_file);
          if (total > 0) {
            fmt::print(io.err, "\rmemx check: {}/{} test runs done", std::min(done, total), total);
          } else {
            fmt::print(io.err, "\rmemx check: {} test runs done", done);
          }
          io.err.flush();
        } while (!finished(pid, 200, &status));
        fmt::print(io.err, "\r\x1b[K");
        return status;
      };
      auto no_report = [&](int status, const std::string& error) {
        std::string tail = terminal ? last_lines(log, 20) : "";
        return InputError(fmt::format(
            "{} exited with status {} and left no usable report ({}){}{}", command.front(),
            status, error,
            ": is it linked with memx::gtest_main or memx::catch2_main (or memx::gtest / the "
            "Catch2 listener)?",
            tail.empty() ? "" : "\nits last lines:\n" + tail));
      };

      const std::size_t total = terminal ? count_tests(framework, command) * static_cast<std::size_t>(args->repeat) : 0;
      const char* name = framework == Framework::googletest ? "GoogleTest" : "Catch2";
      fmt::print(io.err, "memx check: {} binary {}, {} repetition{}\n", name, command.front(),
                 args->repeat, args->repeat == 1 ? "" : "s");
      io.err.flush();
      const std::string counting_path = args->stacks ? dir + "/counting.json" : report_path;
      const int status = run({}, counting_path, args->repeat, total, log);
      ReportRead read = read_report_file(counting_path);
      if (!read.report) throw no_report(status, read.error);

      // Phase two: the culprits again, in stack mode.
      std::vector<std::string> rerun_names = args->stacks ? culprits(*read.report) : std::vector<std::string>{};
      if (args->stacks && !read.report->measured) rerun_names.clear();
      if (args->stacks && rerun_names.empty()) {
        fmt::print(io.err, "memx check: no test leaks or is over budget: no stack-mode rerun\n");
      } else if (args->stacks) {
        std::vector<std::string> select;
        if (framework == Framework::googletest) {
          select.push_back(gtest_filter(rerun_names));
        } else {
          // One argument, the test cases separated by ',' (Catch2 2.x makes separate
          // arguments one filter: all of them must match).
          const std::vector<std::string> cases = catch2_test_cases(command);
          std::vector<std::string> specs;
          for (const std::string& n : rerun_names) {
            const std::string tc = catch2_test_case(n, cases);
            if (tc.empty()) continue;
            const std::string spec = catch2_spec(tc);
            if (std::find(specs.begin(), specs.end(), spec) == specs.end()) specs.push_back(spec);
          }
          if (!specs.empty()) select.push_back(fmt::format("{}", fmt::join(specs, ",")));
        }
        const std::size_t named = std::min<std::size_t>(rerun_names.size(), 10);
        fmt::print(io.err, "memx check: {} test{} again in stack mode: {}{}\n", rerun_names.size(),
                   rerun_names.size() == 1 ? "" : "s",
                   printable_name(fmt::format("{}", fmt::join(rerun_names.begin(),
                                                              rerun_names.begin() + static_cast<std::ptrdiff_t>(named), ", "))),
                   rerun_names.size() > named ? fmt::format(" and {} more", rerun_names.size() - named) : "");
        io.err.flush();
        if (select.empty()) {
          fmt::print(io.err, "memx check: no Catch2 test case found for them (--list-test-names-only); no sites\n");
        } else {
          select.push_back("--memx-stacks");
          const std::string stacks_path = dir + "/stacks.json";
          const std::string stacks_log = terminal ? dir + "/stacks.log" : "";
          // The verdicts stand from the counting run; the rerun only names the sites, for
          // which three repetitions are enough (a warm-up, and two that must both grow).
          const int rerun_repeat = std::min(args->repeat, kSiteRepetitions);
          const int rerun_status =
              run(select, stacks_path, rerun_repeat,
                  terminal ? rerun_names.size() * static_cast<std::size_t>(rerun_repeat) : 0,
                  stacks_log);
          const ReportRead rerun = read_report_file(stacks_path);
          if (!rerun.report) {
            // The counting run's results stand; only the sites are missing.
            fmt::print(io.err,
                       "memx check: the stack-mode rerun exited with status {} and left no usable "
                       "report ({}): no sites\n{}",
                       rerun_status, rerun.error, terminal ? last_lines(stacks_log, 20) : "");
          } else {
            for (const std::string& m : merge_sites(*read.report, *rerun.report, rerun_names)) {
              fmt::print(io.err, "memx check: {} did not run again in stack mode: no sites\n",
                         printable_name(m));
            }
          }
        }
      }
      if (args->stacks) {
        std::string error;
        if (!write_report_atomically(*read.report, report_path, &error)) throw InputError(error);
      }
      const Report& report = *read.report;
      io.out << render_show(report, args->show, io.color);
      if (report.stacks.depth > 0 && args->stacks) {
        ShowOptions sites = args->show;
        sites.sites = "*";
        sites.only = {"leaks", "budget"};
        sites.top = 0;
        sites.summary = false;
        io.out << render_sites(report, sites, io.color);
      }
      std::size_t over = 0, leaking = 0;
      for (const TestRecord& t : report.tests) {
        if (gated_violations(t)) ++over;  // a warn budget is reported, not a problem
        if (t.leak.reported_leak()) ++leaking;  // a suppressed leak is not one
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
