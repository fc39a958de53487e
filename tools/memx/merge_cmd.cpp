// memx merge: the reports of several processes (shards, one process per test) into one.
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
#include "memx/merge.hpp"
#include "memx/units.hpp"

namespace memx::cli {

void register_merge(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "merge", "Merge per-process and per-shard reports into one report");
  struct Args {
    std::vector<std::string> reports;
    std::string output;
    std::string conflicts = "fail";
    std::string stale = "drop";
    bool require_complete = false;
    std::string root;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("reports", args->reports, "Report files or directories of reports")
      ->required();
  cmd->add_option("-o,--output", args->output, "The merged report to write")->required();
  cmd->add_option("--conflicts", args->conflicts,
                  "A test with different figures in two reports: fail (exit 1, nothing "
                  "written), first (keep the first record), all (keep every record, later "
                  "ones renamed \"NAME [from FILE]\")")
      ->check(CLI::IsMember({"fail", "first", "all"}))
      ->capture_default_str();
  cmd->add_option("--stale", args->stale,
                  "A test in reports of different runs (an earlier run's files left in the "
                  "directory): drop (keep each test's newest run, list what was dropped), fail "
                  "(exit 1, nothing written)")
      ->check(CLI::IsMember({"drop", "fail"}))
      ->capture_default_str();
  cmd->add_flag("--require-complete", args->require_complete,
                "Exit 1 (nothing written) when a report is incomplete (its process did not "
                "finish)");
  cmd->footer(
      "Each test keeps its newest run (by the reports' run_id): an earlier run's reports in "
      "the same directory lose the tests a newer run has, listed on stderr as stale. "
      "Duplicates (the same test with the same heap figures in two reports) are kept once "
      "and listed on stderr; so are incomplete reports and disagreements on framework, "
      "backend or repetitions.");
  add_root_option(cmd, args->root);
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      std::vector<SourcedReport> inputs = read_inputs(args->reports);
      const std::size_t input_count = inputs.size();
      const ConflictPolicy policy =
          args->conflicts == "all" ? ConflictPolicy::keep_all : ConflictPolicy::keep_first;
      MergeResult merged = merge_reports(std::move(inputs), policy, args->root);
      const std::size_t stale = merged.count(MergeIssue::Kind::stale);
      if (stale > 0 && args->stale == "fail") {
        for (const MergeIssue& i : merged.issues) {
          if (i.kind == MergeIssue::Kind::stale) fmt::print(io.err, "memx merge: stale: {}\n", i.message);
        }
        fmt::print(io.err,
                   "memx merge: {} report{} of an earlier run: nothing written (--stale=drop "
                   "keeps each test's newest run)\n",
                   stale, stale == 1 ? "" : "s");
        return kProblem;
      }
      const std::size_t conflicts = merged.count(MergeIssue::Kind::conflict);
      if (conflicts > 0 && args->conflicts == "fail") {
        for (const MergeIssue& i : merged.issues) {
          if (i.kind != MergeIssue::Kind::conflict) {
            fmt::print(io.err, "memx merge: {}: {}\n", to_string(i.kind), i.message);
          } else {
            fmt::print(io.err, "memx merge: conflict: {} differs between {} ({})\n",
                       printable_name(i.test),
                       fmt::join(i.sources, " and "), i.detail);
          }
        }
        fmt::print(io.err,
                   "memx merge: {} conflict{}: nothing written (--conflicts=first or all to "
                   "merge anyway)\n",
                   conflicts, conflicts == 1 ? "" : "s");
        return kProblem;
      }
      print_issues(merged.issues, "merge", io.err);
      if (args->require_complete && merged.count(MergeIssue::Kind::incomplete) > 0) {
        fmt::print(io.err, "memx merge: incomplete report(s) and --require-complete: nothing "
                           "written\n");
        return kProblem;
      }
      const std::size_t merged_tests = merged.report.tests.size();
      Report out = std::move(merged.report);
      // With --root, binaries are written relative to it: the merged report then matches
      // wherever it is read (a baseline made on another machine).
      if (!args->root.empty()) rebase_binaries(out, args->root);
      const std::string collision = identity_collision(out, args->root);
      if (!collision.empty()) throw InputError(collision);
      std::string error;
      if (!write_report_atomically(out, args->output, &error)) {
        throw InputError(error);
      }
      fmt::print(io.out, "memx merge: wrote {}: {} tests from {} report{}\n", args->output,
                 merged_tests, input_count, input_count == 1 ? "" : "s");
      return kOk;
    };
  });
}

}  // namespace memx::cli
