// memx baseline update: writes a new baseline report from a run's report(s).
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "memx/identity.hpp"

namespace memx::cli {
namespace {

// A test's source file as the baseline keeps it: relative to --root when under it, its file
// name when absolute (a checkout's own directory), as it is when relative already.
std::string stable_file(const std::string& file, const std::string& root) {
  if (file.empty() || file.front() != '/') return file;
  if (!root.empty() && under_root(file, root)) return binary_identity(file, root);
  return binary_identity(file, "");
}

}  // namespace

Report baseline_of(Report report, const std::string& root, bool keep_rss) {
  // What the gate compares, and only that: two runs with the same figures give the same
  // bytes, and a baseline's diff in a pull request shows only the tests whose memory changed.
  rebase_binaries(report, root);  // binaries by identity: no paths
  report.pid = 0;
  report.run_id.clear();
  report.started_at.clear();
  report.finished_at.clear();
  report.iteration_end_live_bytes.clear();  // absolute heap sizes; the verdicts are kept
  report.stacks = StacksInfo{};             // sites name source paths and addresses
  report.timeline.clear();                  // times and absolute sizes of one run
  for (TestRecord& t : report.tests) {
    t.file = stable_file(t.file, root);
    t.sites.clear();
    t.peak_sites.clear();
    t.timeline = TestTimeline{};  // when it ran and what the sampler read: one run's
    // Descriptor numbers and thread ids are one run's; the counts (runs' fds, threads) stay.
    t.resource_leaks = ResourceLeakRecord{};
    for (RunRecord& r : t.runs) {
      r.duration_ms = 0;
      if (!keep_rss) r.rss_peak_bytes = 0;
    }
  }
  std::stable_sort(report.tests.begin(), report.tests.end(),
                   [](const TestRecord& a, const TestRecord& b) {
                     return a.binary != b.binary ? a.binary < b.binary : a.name < b.name;
                   });
  return report;
}

void register_baseline(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand("baseline", "Manage the baseline report that `gate` compares with");
  cmd->require_subcommand(1);
  auto* update = cmd->add_subcommand(
      "update", "Write the new report(s), merged and validated, as the baseline (atomically)");
  struct Args {
    std::string baseline;
    std::vector<std::string> reports;
    bool allow_incomplete = false;
    bool keep_rss = false;
    std::string root;
  };
  auto args = std::make_shared<Args>();
  update->add_option("--baseline", args->baseline, "The baseline file to write")->required();
  update->add_option("reports", args->reports,
                     "The new report(s): files or directories (several are merged)")
      ->required();
  update->add_flag("--allow-incomplete", args->allow_incomplete,
                   "Accept a report whose process did not finish (refused by default: a "
                   "baseline should hold every test)");
  update->add_flag("--rss", args->keep_rss,
                   "Keep each run's peak RSS (for a gate with --rss-tolerance; RSS varies from "
                   "run to run, so the baseline churns)");
  update->footer(
      "The baseline holds what the gate compares: each test's figures, status, budget and "
      "verdicts, sorted by binary and name, binaries by identity (file name, or relative to "
      "--root); no pid, times, run identifier, durations, RSS (unless --rss), live-heap "
      "totals or stack-mode sites. Two runs with the same figures give the same bytes.");
  add_root_option(update, args->root);
  update->callback([args, &runner] {
    runner = [args](Output& io) {
      Report now = read_one_report(args->reports, io.err, "new", args->root);
      require_measured(now, args->reports, "not written as a baseline");
      // Written relative to --root (else by file name), so that a gate on another checkout
      // or machine matches.
      now = baseline_of(std::move(now), args->root, args->keep_rss);
      if (!now.complete && !args->allow_incomplete) {
        throw InputError(fmt::format(
            "{}: incomplete report (its process did not finish): not written as a baseline "
            "(--allow-incomplete to accept it)",
            fmt::join(args->reports, " ")));
      }
      std::string error;
      if (!write_report_atomically(now, args->baseline, &error)) throw InputError(error);
      fmt::print(io.out, "memx baseline: wrote {} ({} tests)\n", args->baseline,
                 now.tests.size());
      return kOk;
    };
  });
}

}  // namespace memx::cli
