// Should fail: 64 MiB touched and held for 50 ms (the RSS sampler sees it) under "rss=8MiB".
#include "../catch2_include.hpp"

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "memx/catch2.hpp"

TEST_CASE("OverBudget.Rss") {
  MEMX_BUDGET("rss=8MiB");
  constexpr std::size_t kSize = 64u << 20;
  std::unique_ptr<char[]> block(new char[kSize]);
  std::memset(block.get(), 1, kSize);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(block[kSize - 1] == 1);
}
