// The Catch2 memx::catch2 was built with, for memx's own Catch2 tests: Catch2 3's headers when
// MEMX_CATCH2_V3 is defined (memx::catch2's usage requirement with Catch2 3), else Catch2 2's
// single header. A test must never include <catch2/catch.hpp> itself: Catch2 3 does not
// install it, and a system Catch2 2 found next to the Catch2 3 memx uses would be taken
// silently. With Catch2 2, define CATCH_CONFIG_MAIN or CATCH_CONFIG_RUNNER before including
// this header, as with catch.hpp; with Catch2 3 the executable links Catch2::Catch2WithMain
// or has its own main.
#pragma once

#if defined(MEMX_CATCH2_V3)
#include <catch2/catch_all.hpp>
using namespace Catch::Generators;  // as<>, table<>, values(), as GENERATE uses them in 2.x
#if CATCH_VERSION_MAJOR < 3
#error "memx::catch2 was built with Catch2 3, but Catch2 2's headers were found"
#endif
#else
#include <catch2/catch.hpp>
#if CATCH_VERSION_MAJOR != 2
#error "memx::catch2 was built with Catch2 2, but other Catch2 headers were found"
#endif
#endif
