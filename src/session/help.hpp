// memx's part of a test binary's --help: its flags and variables, after the framework's own
// help (the plugins print it when the program ends).
#pragma once

#include <string>
#include <vector>

namespace memx::detail {

/// The framework whose help memx's follows.
enum class HelpFramework { googletest, catch2 };

/// True when `args` (argv[0] first) ask Catch2 for its help: -h, -? or --help. (GoogleTest
/// shows its help for --help and for any --gtest_ flag it does not know: the plugin asks
/// GoogleTest itself.)
bool asks_catch2_for_help(const std::vector<std::string>& args);

/// memx's flags and environment variables, as lines for the end of the framework's help.
std::string plugin_help(HelpFramework framework);

}  // namespace memx::detail
