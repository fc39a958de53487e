// ResourceIds (memx/resources.hpp): /proc/self/fd and /proc/self/task read without the
// reading's own descriptor, the set difference, the grace period, and the names.
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "memx/resources.hpp"

namespace {

bool has(const std::vector<memx::OpenDescriptor>& v, int x) {
  return std::any_of(v.begin(), v.end(), [x](const memx::OpenDescriptor& d) { return d.number == x; });
}

std::vector<int> numbers(const std::vector<memx::OpenDescriptor>& v) {
  std::vector<int> out;
  for (const memx::OpenDescriptor& d : v) out.push_back(d.number);
  return out;
}

// Descriptors on files whose inode is ten times their number (a number on another file: `ino`).
std::vector<memx::OpenDescriptor> on_files(std::initializer_list<int> fds) {
  std::vector<memx::OpenDescriptor> out;
  for (const int fd : fds) out.push_back(memx::OpenDescriptor{fd, 1, static_cast<std::uint64_t>(fd) * 10});
  return out;
}

TEST(ResourceIds, DifferenceOfAscendingSets) {
  memx::ResourceIds before{on_files({0, 1, 2, 5, 9}), {100, 101}};
  memx::ResourceIds after{on_files({0, 1, 3, 5, 9, 12}), {100, 102, 103}};
  const memx::ResourceIds added = memx::added_resources(before, after);
  EXPECT_EQ(numbers(added.fds), (std::vector<int>{3, 12}));
  EXPECT_EQ(added.threads, (std::vector<std::int64_t>{102, 103}));
  // Same count, different sets: 2 closed, 3 opened.
  EXPECT_EQ(numbers(memx::added_resources({on_files({0, 1, 2}), {}}, {on_files({0, 1, 3}), {}}).fds),
            std::vector<int>{3});
  EXPECT_EQ(numbers(memx::added_resources(after, before).fds), std::vector<int>{2});
  EXPECT_TRUE(memx::added_resources(after, after).empty());
  // The same number on another file (closed and opened again in between) is new.
  memx::ResourceIds reused{on_files({0, 1, 2, 5, 9}), {100, 101}};
  reused.fds[3].ino = 777;
  EXPECT_EQ(numbers(memx::added_resources(before, reused).fds), std::vector<int>{5});
}

// The race CI once hit: a short-lived descriptor (the RSS sampler's /proc/self/statm) was
// open when "before" was read, and the test's pipe took its number afterwards.
TEST(ResourceIds, ANumberOpenedAgainOnAnotherFileIsNew) {
  const int transient = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(transient, 0);
  memx::ResourceIds before, after;
  ASSERT_TRUE(memx::read_resource_ids(before));
  ASSERT_TRUE(has(before.fds, transient));
  ::close(transient);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_TRUE(pipe_fds[0] == transient || pipe_fds[1] == transient);  // the lowest free number
  ASSERT_TRUE(memx::read_resource_ids(after));
  const memx::ResourceIds added = memx::added_resources(before, after);
  EXPECT_EQ(numbers(added.fds), (std::vector<int>{std::min(pipe_fds[0], pipe_fds[1]),
                                                  std::max(pipe_fds[0], pipe_fds[1])}));
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST(ResourceIds, ReadsTheProcessWithoutItsOwnDescriptor) {
  memx::ResourceIds a, b;
  ASSERT_TRUE(memx::read_resource_ids(a));
  ASSERT_TRUE(std::is_sorted(a.fds.begin(), a.fds.end()));
  ASSERT_TRUE(std::is_sorted(a.threads.begin(), a.threads.end()));
  EXPECT_FALSE(a.threads.empty());
  // Two readings in a row see the same process: the directory read is not counted.
  ASSERT_TRUE(memx::read_resource_ids(b));
  EXPECT_TRUE(a.fds == b.fds);
  // The lowest free number is the one the reading used: it must not be listed.
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(probe, 0);
  ::close(probe);
  EXPECT_FALSE(has(b.fds, probe));
}

TEST(ResourceIds, NewFileSocketAndPipeAreNamed) {
  memx::ResourceIds before, after;
  ASSERT_TRUE(memx::read_resource_ids(before));
  char path[] = "/tmp/memx-resources-XXXXXX";
  const int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  const int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_TRUE(memx::read_resource_ids(after));
  const memx::ResourceIds added = memx::added_resources(before, after);
  EXPECT_EQ(added.fds.size(), 4u);
  EXPECT_TRUE(has(added.fds, file) && has(added.fds, sock) && has(added.fds, pipe_fds[0]) &&
              has(added.fds, pipe_fds[1]));
  EXPECT_EQ(memx::descriptor_target(file).value_or("?"), path);
  EXPECT_EQ(memx::descriptor_target(sock).value_or("?").rfind("socket:[", 0), 0u);
  EXPECT_EQ(memx::descriptor_target(pipe_fds[0]).value_or("?").rfind("pipe:[", 0), 0u);
  ::unlink(path);
  ::close(file);
  ::close(sock);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  // Closed: no target (a descriptor closed during the check is not left open).
  EXPECT_FALSE(memx::descriptor_target(file).has_value());
  ASSERT_TRUE(memx::read_resource_ids(after));
  EXPECT_TRUE(memx::added_resources(before, after).fds.empty());
}

// ThreadSanitizer starts a thread of its own at the process's first pthread_create: one
// thread started and joined first keeps it out of the tests' "before" and "after".
void start_the_runtimes_threads() {
  static const bool started = [] {
    std::thread([] {}).join();
    return true;
  }();
  (void)started;
}

TEST(ResourceIds, ThreadIsListedAndNamedUntilItEnds) {
  start_the_runtimes_threads();
  memx::ResourceIds before, after;
  ASSERT_TRUE(memx::read_resource_ids(before));
  std::atomic<bool> stop{false};
  std::atomic<long> tid{0};
  std::thread t([&] {
    pthread_setname_np(pthread_self(), "memx-probe");
    tid = static_cast<long>(::gettid());
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (tid == 0) std::this_thread::yield();
  ASSERT_TRUE(memx::read_resource_ids(after));
  EXPECT_EQ(memx::added_resources(before, after).threads, std::vector<std::int64_t>{tid.load()});
  EXPECT_EQ(memx::thread_name(tid).value_or("?"), "memx-probe");
  stop = true;
  t.join();
  EXPECT_FALSE(memx::thread_name(tid).has_value());
  ASSERT_TRUE(memx::read_resource_ids(after));
  EXPECT_TRUE(memx::added_resources(before, after).threads.empty());
}

TEST(ResourceGrace, NothingNewIsNothingLeft) {
  memx::ResourceIds before, scratch;
  ASSERT_TRUE(memx::read_resource_ids(before));
  EXPECT_TRUE(memx::settle_added_resources(before, scratch).empty());
}

TEST(ResourceGrace, AThreadEndingWithinTheGraceIsNotLeft) {
  start_the_runtimes_threads();
  memx::ResourceIds before, scratch;
  ASSERT_TRUE(memx::read_resource_ids(before));
  std::thread([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }).detach();
  EXPECT_TRUE(memx::settle_added_resources(before, scratch).empty());
}

TEST(ResourceGrace, AThreadStillRunningAfterTheGraceIsLeft) {
  start_the_runtimes_threads();
  memx::ResourceIds before, scratch;
  ASSERT_TRUE(memx::read_resource_ids(before));
  std::atomic<bool> stop{false};
  std::thread t([&] {
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  const auto t0 = std::chrono::steady_clock::now();
  const memx::ResourceIds left = memx::settle_added_resources(before, scratch);
  const auto waited = std::chrono::steady_clock::now() - t0;
  stop = true;
  t.join();
  EXPECT_EQ(left.threads.size(), 1u);
  EXPECT_GE(waited, memx::kResourceGrace);  // the whole grace, before calling it left
}

}  // namespace
