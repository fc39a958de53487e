# A Catch2 package that must never be loaded (tests/consumers/gtest_only).
message(FATAL_ERROR "gtest_only: find_package(Catch2) was called for memx's gtest component")
