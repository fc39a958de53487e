// memx baseline update: writes a new baseline report from a run's report(s).
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

void register_baseline(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand("baseline", "Manage the baseline report that `gate` compares with");
  cmd->require_subcommand(1);
  auto* update = cmd->add_subcommand(
      "update", "Write the new report(s), merged and validated, as the baseline (atomically)");
  struct Args {
    std::string baseline;
    std::vector<std::string> reports;
    bool allow_incomplete = false;
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
  add_root_option(update, args->root);
  update->callback([args, &runner] {
    runner = [args](Output& io) {
      Report now = read_one_report(args->reports, io.err, "new", args->root);
      require_measured(now, args->reports, "not written as a baseline");
      // Written relative to --root, so that a gate on another checkout or machine matches.
      if (!args->root.empty()) rebase_binaries(now, args->root);
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
