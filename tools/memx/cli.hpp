// memx CLI: what every subcommand shares: exit codes, errors, reading reports, colour.
#pragma once

#include <functional>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "memx/merge.hpp"
#include "memx/report.hpp"

namespace CLI {
class App;
}

namespace memx::cli {

/// Exit codes of every subcommand.
enum Exit : int {
  kOk = 0,        ///< nothing to complain about
  kProblem = 1,   ///< regressions (gate), leaks or budget failures (check), conflicts (merge)
  kBadInput = 2,  ///< unusable input: unreadable or invalid report, bad option value
};

/// Unusable input: main prints "memx <command>: <message>" and exits with 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where a subcommand writes, and whether it may use colour.
struct Output {
  std::ostream& out;   ///< results
  std::ostream& err;   ///< warnings and notes
  bool color = false;  ///< ANSI colours allowed on `out`
};

/// A subcommand's work, set by its parse callback and run by main after parsing.
using Runner = std::function<int(Output&)>;

/// Registers a subcommand on `app`; its callback stores its work in `runner`.
using Registrar = void (*)(CLI::App& app, Runner& runner);

void register_show(CLI::App& app, Runner& runner);      ///< memx show
void register_merge(CLI::App& app, Runner& runner);     ///< memx merge
void register_csv(CLI::App& app, Runner& runner);       ///< memx csv
void register_diff(CLI::App& app, Runner& runner);      ///< memx diff
void register_gate(CLI::App& app, Runner& runner);      ///< memx gate
void register_baseline(CLI::App& app, Runner& runner);  ///< memx baseline update
/// The report `baseline update` writes: what the gate compares, with nothing that changes
/// from run to run (paths, pid, times, durations, RSS unless keep_rss), tests sorted.
Report baseline_of(Report report, const std::string& root, bool keep_rss);
void register_analyze(CLI::App& app, Runner& runner);   ///< memx analyze
void register_html(CLI::App& app, Runner& runner);      ///< memx html
void register_check(CLI::App& app, Runner& runner);     ///< memx check
void register_watch(CLI::App& app, Runner& runner);     ///< memx watch

/// The report files named by `paths`: a file as is, a directory as the *.json files in it
/// (sorted). Throws InputError for a path that does not exist or an empty directory.
std::vector<std::string> expand_inputs(const std::vector<std::string>& paths);

/// Reads every file of expand_inputs(paths). Throws InputError with read_report's message
/// (file, position or JSON path, what is wrong) for the first unusable file.
std::vector<SourcedReport> read_inputs(const std::vector<std::string>& paths);

/// Reads the reports named by `paths` as one report: merged (merge_reports, keep_first)
/// when there are several. Duplicates, incomplete reports and mismatches are written to
/// `err` as notes; a conflict throws InputError (merge them with `memx merge` first).
/// `what` names the input in messages ("base", "new"; "" for none).
/// Tests are identified by binary and name (memx/identity.hpp) under `root`; two binaries
/// that collide there (same identity, a test of the same name) throw InputError naming
/// --root.
Report read_one_report(const std::vector<std::string>& paths, std::ostream& err,
                       const std::string& what = "", const std::string& root = "");

/// Adds --root DIR (binaries identified by their path relative to DIR) to `cmd`.
void add_root_option(CLI::App* cmd, std::string& root);

/// Throws InputError when the report was not measured (Report::measured false: Valgrind
/// replaced memx's operator new): "<paths>: not measured ...: <why it matters for `use`>".
void require_measured(const Report& report, const std::vector<std::string>& paths,
                      const std::string& use);

/// Writes each merge issue as one line "memx <command>: <kind>: <message>".
void print_issues(const std::vector<MergeIssue>& issues, const std::string& command,
                  std::ostream& err);

/// Writes `text` to the file at `path` (replacing it). Throws InputError naming the path
/// and the system error.
void write_text_file(const std::string& path, const std::string& text, bool append = false);

/// Colour choice of --color: "auto" (a terminal, NO_COLOR unset, TERM not "dumb";
/// MEMX_COLOR=0/1 overrides), "always" or "never".
bool use_color(const std::string& choice, int fd);

/// The name of the subcommand being run, for messages ("show", "gate", ...).
const std::string& command_name();
/// Sets the name returned by command_name().
void set_command_name(std::string name);

}  // namespace memx::cli
