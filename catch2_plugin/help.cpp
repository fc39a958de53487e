// memx's flags at the end of Catch2's -h, --help and -?: Catch2 prints its own
// help when it reads its command line and runs no test; memx's lines follow when the program ends.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "memx/session.hpp"
#include "memx/uncounted.hpp"
#include "session/help.hpp"

namespace memx::catch2 {
namespace {

void print_help_at_exit() {
  Uncounted guard;
  const std::string text = detail::plugin_help(detail::HelpFramework::catch2);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

struct HelpRegistrar {
  HelpRegistrar() {
    Uncounted guard;
    if (detail::asks_catch2_for_help(read_process_arguments())) {
      std::atexit(print_help_at_exit);
    }
  }
};

// In the listener's archive, which is linked whole (catch2_plugin/CMakeLists.txt).
const HelpRegistrar g_help_registrar;

}  // namespace
}  // namespace memx::catch2
