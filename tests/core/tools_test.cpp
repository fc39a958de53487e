// Detection of heap tools (sanitizers, Valgrind) and the probe of whether memx's operator
// new is the one running. The tools.* tests (tests/consumers) run real tools; these check
// the same code in each CI build: plain (no tool), ASan+UBSan and TSan presets.
#include <cstdlib>
#include <new>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "memx/counters.hpp"
#include "memx/tools.hpp"
#include "memx/uncounted.hpp"

namespace {

memx::Tool tool_this_binary_was_built_with() {
#if defined(__SANITIZE_ADDRESS__)
  return memx::Tool::address_sanitizer;
#elif defined(__SANITIZE_THREAD__)
  return memx::Tool::thread_sanitizer;
#else
  return memx::Tool::none;
#endif
}

TEST(Tools, DetectsTheSanitizerThisBinaryWasBuiltWith) {
  if (std::getenv("LD_PRELOAD") != nullptr) GTEST_SKIP() << "a preloaded tool may be present";
  EXPECT_EQ(memx::detected_tool(), tool_this_binary_was_built_with())
      << memx::tool_name(memx::detected_tool());
}

TEST(Tools, BackendIsTheBuiltOneUnlessAToolMadeMemxSwitch) {
  const std::string built = MEMX_TEST_BACKEND;
  if (memx::allocator_switched_for_tool()) {
    EXPECT_EQ(built, "mimalloc");
    EXPECT_NE(memx::detected_tool(), memx::Tool::none);
    EXPECT_STREQ(memx::backend_name(), "system");
  } else {
    EXPECT_EQ(memx::backend_name(), built);
  }
  // A build on the C library never switches: every tool sees its blocks already.
  if (built == "system") EXPECT_FALSE(memx::allocator_switched_for_tool());
  // A sanitizer or Valgrind in a mimalloc build always makes it switch; heaptrack never does.
  const memx::Tool tool = memx::detected_tool();
  if (built == "mimalloc" && tool != memx::Tool::none) {
    EXPECT_EQ(memx::allocator_switched_for_tool(), tool != memx::Tool::heaptrack);
  }
}

TEST(Tools, Names) {
  EXPECT_STREQ(memx::tool_name(memx::Tool::none), "");
  EXPECT_STREQ(memx::tool_name(memx::Tool::address_sanitizer), "AddressSanitizer");
  EXPECT_STREQ(memx::tool_name(memx::Tool::hwaddress_sanitizer), "HWAddressSanitizer");
  EXPECT_STREQ(memx::tool_name(memx::Tool::memory_sanitizer), "MemorySanitizer");
  EXPECT_STREQ(memx::tool_name(memx::Tool::thread_sanitizer), "ThreadSanitizer");
  EXPECT_STREQ(memx::tool_name(memx::Tool::leak_sanitizer), "LeakSanitizer");
  EXPECT_STREQ(memx::tool_name(memx::Tool::valgrind), "Valgrind");
  EXPECT_STREQ(memx::tool_name(memx::Tool::heaptrack), "heaptrack");
}

TEST(Tools, OperatorNewIsCountedHereAndTheProbeLeavesNoTrace) {
  const memx::Counters before = memx::counters();
  EXPECT_TRUE(memx::allocations_counted());
  const memx::Counters after = memx::counters();
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_EQ(after.live_blocks, before.live_blocks);
  EXPECT_TRUE(memx::counting_this_thread());
}

TEST(Tools, TheProbeSeesThroughAnUncountedGuardAndKeepsIt) {
  // The session probes under memx::Uncounted: the guard must not look like a replaced
  // operator new, and must still be in force afterwards.
  memx::Uncounted guard;
  EXPECT_TRUE(memx::allocations_counted());
  EXPECT_FALSE(memx::counting_this_thread());
  const memx::Counters before = memx::this_thread_counters();
  delete new int(1);
  EXPECT_EQ(memx::this_thread_counters().allocs, before.allocs);
}

TEST(Tools, TheProbeWorksOnAThreadThatNeverAllocated) {
  bool counted = false;
  bool balanced = false;
  std::thread t([&] {
    counted = memx::allocations_counted();
    const memx::Counters c = memx::this_thread_counters();
    balanced = c.allocs == c.frees && c.live_bytes == 0;
  });
  t.join();
  EXPECT_TRUE(counted);
  EXPECT_TRUE(balanced);
}

}  // namespace
