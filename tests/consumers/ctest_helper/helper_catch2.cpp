// The Catch2 suite of the CTest helper's consumer (memx::catch2_main is its main).
#include <string>
#include <vector>

#if __has_include(<catch2/catch_test_macros.hpp>)  // Catch2 3
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif
#include <memx/catch2.hpp>

TEST_CASE("strings", "[memx:net=0]") {
  std::vector<std::string> v(4, std::string(64, 'y'));
  REQUIRE(v.size() == 4);
}
