// Catch2 2's own main, compiled once for the scenarios that run with it instead of memx's
// (leak_catch_main, generate_catch_main, registry_handoff, thread_state_plain): the usual
// Catch2 2 layout, one file that defines CATCH_CONFIG_MAIN and test files that only include
// the header (the implementation takes about 25 s to compile, once instead of four times).
// With Catch2 3 those scenarios link Catch2::Catch2WithMain instead.
#define CATCH_CONFIG_MAIN
#include "catch2_include.hpp"
