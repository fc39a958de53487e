// memx's flags at the end of GoogleTest's help. GoogleTest shows it, in InitGoogleTest, for
// --help and for any --gtest_ flag it does not know, and then runs no test; memx's lines
// follow when the program ends.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "memx/uncounted.hpp"
#include "session/help.hpp"

namespace testing::internal {
// GoogleTest's own record that it showed its help (src/gtest-internal-inl.h: GTEST_API_,
// unchanged since GoogleTest 1.0). Read rather than guessed from the arguments, since which
// unknown --gtest_ flags show the help depends on GoogleTest's version.
GTEST_API_ extern bool g_help_flag;
}  // namespace testing::internal

namespace memx::gtest {
namespace {

void print_help_at_exit() {
  if (!::testing::internal::g_help_flag) return;
  Uncounted guard;
  const std::string text = detail::plugin_help(detail::HelpFramework::googletest);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

struct HelpRegistrar {
  HelpRegistrar() { std::atexit(print_help_at_exit); }
};

// In the listener's archive, which is linked whole (gtest_plugin/CMakeLists.txt).
const HelpRegistrar g_help_registrar;

}  // namespace
}  // namespace memx::gtest
