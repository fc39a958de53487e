// memx analyze: recomputes budget violations and leak verdicts of a report offline.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "cli.hpp"

namespace memx::cli {

void register_analyze(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "analyze", "Recompute every test's budget violations and leak verdict from its runs "
                 "(the same analysis the plugins run) and write the report");
  struct Args {
    std::string report;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("report", args->report, "One process's report")->required();
  cmd->add_option("-o,--output", args->output, "Where to write the analysed report")
      ->required();
  cmd->footer(
      "Use it on a report of one process: the handoff rule compares each test with its own "
      "process's iteration totals, which a merged report no longer has per process.");
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      std::vector<SourcedReport> in = read_inputs({args->report});
      if (in.size() != 1) {
        throw InputError(fmt::format("{}: a directory of {} reports: analyze reads one report",
                                     args->report, in.size()));
      }
      Report report = std::move(in.front().report);
      analyze_report(report);
      std::string error;
      if (!write_report_atomically(report, args->output, &error)) throw InputError(error);
      fmt::print(io.out, "memx analyze: wrote {} ({} tests)\n", args->output,
                 report.tests.size());
      return kOk;
    };
  });
}

}  // namespace memx::cli
