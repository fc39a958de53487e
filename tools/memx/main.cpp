// memx: the command-line tool. Each subcommand lives in its own file and registers itself
// here; main parses, runs the chosen subcommand and turns every error into exit status 2
// with one message (never an uncaught exception).
#include <malloc.h>
#include <unistd.h>

#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "memx/version.hpp"

int main(int argc, char** argv) {
  using namespace memx::cli;
  // Blocks of 256 KiB and more are mapped, and unmapped when freed, always: glibc's
  // threshold otherwise rises after the first such free, and a report's records read in
  // pieces (then moved into one array) would stay in the heap beside their copy.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  try {
    CLI::App app{"memx: memory as a first-class test result. Reads the JSON reports of the memx "
                 "test plugins.",
                 "memx"};
    app.require_subcommand(1);
    app.set_version_flag("--version", fmt::format("memx {}.{}.{}", MEMX_VERSION_MAJOR, MEMX_VERSION_MINOR,
                                                   MEMX_VERSION_PATCH));
    std::string color = "auto";
    app.add_option("--color", color,
                   "Colours: auto (a terminal; NO_COLOR, MEMX_COLOR=0/1 respected), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    app.footer("Exit status: 0 fine, 1 problems found (regressions, leaks, budget failures, merge "
               "conflicts), 2 unusable input. `memx <command> --help` for each command.");
    Runner runner;
    for (Registrar r : {register_show, register_merge, register_csv, register_diff,
                        register_gate, register_baseline, register_analyze,
                        register_html, register_check, register_watch}) {
      r(app, runner);
    }
    if (argc > 1 && argv[1][0] != '-') {
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->check_name(argv[1]);
      if (!known) {
        std::vector<std::string> names;
        for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
        std::cerr << fmt::format("memx: unknown command \"{}\" (commands: {})\n", argv[1],
                                 fmt::join(names, ", "));
        return kBadInput;
      }
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      std::cout << app.help();
      return kOk;
    } catch (const CLI::CallForAllHelp&) {
      std::cout << app.help("", CLI::AppFormatMode::All);
      return kOk;
    } catch (const CLI::CallForVersion& e) {
      std::cout << e.what() << "\n";
      return kOk;
    } catch (const CLI::ParseError& e) {
      // --help of a subcommand arrives here as CallForHelp raised by that subcommand.
      if (e.get_name() == "CallForHelp" || e.get_name() == "CallForAllHelp") {
        return app.exit(e);
      }
      std::string where;
      for (const CLI::App* sub : app.get_subcommands()) where = " " + sub->get_name();
      std::cerr << "memx" << where << ": " << e.what() << "\n"
                << "Run `memx" << where << " --help` for the usage.\n";
      return kBadInput;
    }
    std::string name;
    for (const CLI::App* sub : app.get_subcommands()) name = sub->get_name();
    set_command_name(name);
    if (!runner) {
      std::cerr << "memx " << name << ": nothing to do; see `memx " << name << " --help`\n";
      return kBadInput;
    }
    Output io{std::cout, std::cerr, use_color(color, STDOUT_FILENO)};
    try {
      const int status = runner(io);
      std::cout.flush();
      return status;
    } catch (const InputError& e) {
      std::cout.flush();
      std::string_view message = e.what();
      if (message.rfind("memx: ", 0) == 0) message.remove_prefix(6);
      std::cerr << "memx " << name << ": " << message << "\n";
      return kBadInput;
    }
  } catch (const std::bad_alloc&) {
    std::cerr << "memx: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "memx: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "memx: internal error: unknown exception\n";
  }
  return kBadInput;
}
