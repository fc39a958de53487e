// Heap snapshots in code (memx/heap_snapshot.hpp): what grew between two snapshots, by line
// and by stack, at the lines that allocated it; nothing without stack mode. Also the sites of
// a scope's peak (memx::stacks::peak_sites), a Scope's live sites, and fork.
#include <gtest/gtest.h>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "memx/counters.hpp"
#include "memx/heap_snapshot.hpp"
#include "memx/scope.hpp"
#include "memx/stacks.hpp"
#include "memx/tools.hpp"
#include "memx/uncounted.hpp"

namespace memx::test {
namespace {

std::vector<std::unique_ptr<std::string>>* g_cache = nullptr;

[[gnu::noinline]] void fill_cache(int n) {
  for (int i = 0; i < n; ++i) {
    g_cache->push_back(std::make_unique<std::string>(200, 'c'));
  }
}
constexpr int kCacheLine = __LINE__ - 3;  // the push_back

[[gnu::noinline]] void* other_site() {
  void* p = ::operator new(4096);
  asm volatile("" ::"r"(p) : "memory");  // no tail call: other_site keeps its frame
  return p;
}
constexpr int kOtherLine = __LINE__ - 4;

class HeapSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stacks::enable(32));
    Uncounted guard;
    g_cache = new std::vector<std::unique_ptr<std::string>>;
    g_cache->reserve(1000);
  }
  void TearDown() override {
    {
      Uncounted guard;
      delete g_cache;
      g_cache = nullptr;
    }
    stacks::disable();
  }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST_F(HeapSnapshotTest, CompareNamesTheLinesThatGrew) {
  const HeapSnapshot before = HeapSnapshot::take();
  ASSERT_TRUE(before.enabled());
  fill_cache(10);
  void* other = other_site();
  const HeapSnapshot after = HeapSnapshot::take();
  const std::vector<HeapSnapshot::Difference> diff = after.compare(before);
  ASSERT_GE(diff.size(), 2u);
  // Biggest change first: 10 strings' buffers (200 B each, 208 usable or more) at the cache
  // line... and the 4 KiB block at its own line.
  bool cache = false, single = false;
  for (const HeapSnapshot::Difference& d : diff) {
    ASSERT_EQ(d.frames.size(), 1u);  // by line: the user frame
    const symbols::Frame& f = d.frames[0];
    if (ends_with(f.file, "heap_snapshot_test.cpp") && f.line == kCacheLine && d.blocks_diff == 20) {
      cache = true;  // the string objects and their buffers: make_unique and the string's own
      EXPECT_GE(d.bytes_diff, 10 * (200 + 32));
    }
    if (ends_with(f.file, "heap_snapshot_test.cpp") && f.line == kOtherLine) {
      single = true;
      EXPECT_EQ(d.blocks_diff, 1);
      EXPECT_GE(d.bytes_diff, 4096);
      EXPECT_NE(describe(d).find("heap_snapshot_test.cpp:" + std::to_string(kOtherLine) + " in other_site"),
                std::string::npos)
          << describe(d);
    }
  }
  EXPECT_TRUE(cache) << describe(diff[0]) << "\n" << describe(diff[1]);
  EXPECT_TRUE(single);
  ::operator delete(other);
  // Freed again: the change from `after` is the block going away.
  const HeapSnapshot later = HeapSnapshot::take();
  bool freed = false;
  for (const HeapSnapshot::Difference& d : later.compare(after)) {
    if (!d.frames.empty() && d.frames[0].line == kOtherLine) {
      freed = d.blocks_diff == -1 && d.bytes_diff <= -4096;
    }
  }
  EXPECT_TRUE(freed);
}

TEST_F(HeapSnapshotTest, ByStackKeepsTheWholeStack) {
  const HeapSnapshot before = HeapSnapshot::take();
  fill_cache(3);
  const std::vector<HeapSnapshot::Difference> diff = HeapSnapshot::take().compare(before, HeapSnapshot::GroupBy::stack);
  ASSERT_FALSE(diff.empty());
  EXPECT_GT(diff[0].frames.size(), 2u);  // operator new's callers up to the test
}

TEST(HeapSnapshotOff, WithoutStackModeASnapshotIsEmptyAndSaysSo) {
  stacks::disable();
  const HeapSnapshot s = HeapSnapshot::take();
  EXPECT_FALSE(s.enabled());
  EXPECT_EQ(s.bytes(), 0);
  EXPECT_TRUE(s.statistics().empty());
}

TEST_F(HeapSnapshotTest, AScopeGivesTheSitesOfWhatItLeftLive) {
  void* before = ::operator new(100);  // not the scope's
  Scope scope;
  fill_cache(4);
  void* freed = ::operator new(1000);
  ::operator delete(freed);
  scope.stop();
  void* after = ::operator new(100);  // not the scope's either
  const stacks::List<stacks::Site> sites = scope.live_sites();
  std::uint64_t blocks = 0;
  for (const stacks::Site& s : sites) blocks += s.blocks;
  EXPECT_EQ(blocks, 8u);  // four strings and their buffers
  ::operator delete(before);
  ::operator delete(after);
}

// --- The sites of a scope's peak --------------------------------------------------------

[[gnu::noinline]] std::size_t big_temporary() {
  std::vector<char> v(512 * 1024, 'x');
  return v.size();
}

TEST_F(HeapSnapshotTest, PeakSitesAreWhatTheScopeHeldAtItsPeak) {
  stacks::set_scope(4242);
  std::vector<int> small(1000, 1);
  const std::size_t n = big_temporary() + small.size();  // the peak: both live
  std::vector<int> after(100, 2);                         // after the peak: not in it
  stacks::set_scope(0);
  EXPECT_EQ(n, 512u * 1024 + 1000);
  std::uint64_t live = 0;
  const stacks::List<stacks::Site> sites = stacks::peak_sites(4242, &live);
  ASSERT_GE(sites.size(), 2u);
  EXPECT_GE(sites[0].bytes, 512u * 1024);
  EXPECT_EQ(sites[0].blocks, 1u);
  EXPECT_GE(sites[1].bytes, 4000u);
  std::uint64_t held = 0;
  for (const stacks::Site& s : sites) held += s.bytes;
  EXPECT_EQ(held, live);
  EXPECT_GE(live, 512u * 1024 + 4000);
  // Another scope's query sees nothing of it.
  EXPECT_TRUE(stacks::peak_sites(4243).empty());
}

TEST_F(HeapSnapshotTest, PeakSitesCountOtherThreadsOfTheScope) {
  stacks::set_scope(777);
  std::thread t([] {
    std::vector<char> v(300 * 1024, 't');
    std::vector<char> w(300 * 1024, 'u');
    (void)v.data();
    (void)w.data();
  });
  t.join();
  stacks::set_scope(0);
  std::uint64_t live = 0;
  const stacks::List<stacks::Site> sites = stacks::peak_sites(777, &live);
  EXPECT_GE(live, 600u * 1024);
  ASSERT_FALSE(sites.empty());
}

[[gnu::noinline]] void* small_from_worker() { return ::operator new(500); }

// A thread buffers its changes to the scope's figures (scope_peak.cpp); what it buffered is
// added when it exits, so a copy taken after sees its blocks (here 10 KiB, under the buffer's
// limit, that nothing else would have flushed).
TEST_F(HeapSnapshotTest, PeakSitesCountWhatAnExitedThreadBuffered) {
  stacks::set_scope(778);
  std::vector<void*> kept;
  std::thread t([&] {
    for (int i = 0; i < 20; ++i) kept.push_back(small_from_worker());
  });
  t.join();
  const std::size_t n = big_temporary();  // the scope's peak, copied by this thread
  stacks::set_scope(0);
  EXPECT_EQ(n, 512u * 1024);
  std::uint64_t live = 0;
  const stacks::List<stacks::Site> sites = stacks::peak_sites(778, &live);
  bool found = false;
  for (const stacks::Site& s : sites) {
    found = found || (s.blocks == 20 && s.bytes == 20 * memx::usable_size(kept[0]));
  }
  EXPECT_TRUE(found) << "the worker's 20 blocks are not among the " << sites.size()
                     << " sites of the peak";
  EXPECT_GE(live, 512u * 1024 + 20 * 500);
  for (void* p : kept) ::operator delete(p);
}

}  // namespace
}  // namespace memx::test

namespace memx::test {
namespace {

// A library loaded after the symboliser read the process's modules is still symbolised.
TEST(Symbolizer, ALibraryLoadedLaterIsFound) {
  ASSERT_TRUE(stacks::enable(16));
  symbols::Symbolizer sym;  // reads the module list now
  (void)sym.resolve(reinterpret_cast<std::uintptr_t>(&big_temporary));
  void* handle = dlopen(MEMX_STACKS_DLOPENED_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using Allocate = void* (*)(std::size_t);
  auto allocate = reinterpret_cast<Allocate>(dlsym(handle, "memx_test_dlopened_allocate"));
  ASSERT_NE(allocate, nullptr);
  const std::uint64_t first = stacks::next_allocation_number();
  char* p = static_cast<char*>(allocate(333));
  stacks::Filter f;
  f.first_number = first;
  const stacks::List<stacks::Site> sites = stacks::live_sites(f);
  bool found = false;
  std::string seen;  // what was resolved, for the failure message
  for (const stacks::Site& s : sites) {
    seen += "site of " + std::to_string(s.bytes) + " B:\n";
    for (const std::uintptr_t pc : stacks::frames(s.stack_id)) {
      for (const symbols::Frame& fr : sym.resolve(pc)) {
        found = found || (fr.file.find("dlopened.cpp") != std::string::npos && fr.line == 5);
        seen += "  " + std::to_string(pc) + " " + fr.module + " " + fr.function + " " + fr.file +
                ":" + std::to_string(fr.line) + "\n";
      }
    }
  }
  EXPECT_TRUE(found) << "the dlopened library's line was not found in " << sites.size()
                     << " sites:\n" << seen;
  delete[] p;
  dlclose(handle);
  stacks::disable();
}

// A child forked while another thread records (and so may hold a lock of the live-block map)
// must not hang: stack mode is off in the child.
TEST(StackModeFork, AForkedChildCountsWithoutStackModeAndNeverHangs) {
  if (detected_tool() != Tool::none) {
    // Inside a sanitizer memx allocates with the sanitizer's allocator, whose own locks in a
    // child forked beside an allocating thread are the sanitizer's business (ASan's child
    // once hung there in 200 forks): memx's own locks are what this test is about.
    GTEST_SKIP() << "under " << tool_name(detected_tool());
  }
  ASSERT_TRUE(stacks::enable(16));
  struct Busy {  // joined whatever the assertions below do
    std::atomic<bool> stop{false};
    std::thread thread{[this] {
      while (!stop.load()) {
        std::vector<std::string> v;
        for (int i = 0; i < 64; ++i) v.emplace_back(100, 'b');
      }
    }};
    ~Busy() {
      stop.store(true);
      thread.join();
    }
  } busy;
  for (int i = 0; i < 200; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(10);  // a hang ends with SIGALRM, which the parent sees
      std::vector<std::string> v;
      for (int k = 0; k < 100; ++k) v.emplace_back(100, 'c');
      ::_exit(stacks::enabled() ? 3 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "child " << i << " died of signal " << WTERMSIG(status);
    ASSERT_EQ(WEXITSTATUS(status), 0) << "stack mode was still on in the child";
  }
  EXPECT_TRUE(stacks::enabled());  // the parent keeps it
  stacks::disable();
}

}  // namespace
}  // namespace memx::test
