// ProcessSnapshot reads the process's resources from /proc/self.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "memx/process.hpp"

namespace {

TEST(ProcessSnapshot, ReadsThisProcess) {
  const auto s = memx::ProcessSnapshot::capture();
  ASSERT_TRUE(s.valid);
  EXPECT_GT(s.rss_bytes, 0);
  EXPECT_GE(s.vms_bytes, s.rss_bytes);
  EXPECT_GE(s.threads, 1);
  EXPECT_GE(s.open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GT(s.wall_seconds, 0.0);
  EXPECT_GE(s.cpu_percent, 0.0);
  EXPECT_GE(s.cpu_user_seconds + s.cpu_system_seconds, 0.0);
}

TEST(ProcessSnapshot, SeesANewDescriptorAndANewThread) {
  std::thread([] {}).join();  // sanitizer runtimes start a helper thread with the first thread
  const auto before = memx::ProcessSnapshot::capture();
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  std::thread t([&] {
    started = true;
    while (!release) std::this_thread::yield();
  });
  while (!started) std::this_thread::yield();
  const auto during = memx::ProcessSnapshot::capture();
  release = true;
  t.join();
  ::close(fd);
  EXPECT_EQ(during.open_fds, before.open_fds + 1);
  EXPECT_EQ(during.threads, before.threads + 1);
  const auto after = memx::ProcessSnapshot::capture();
  EXPECT_EQ(after.open_fds, before.open_fds);
  EXPECT_EQ(after.threads, before.threads);
}

TEST(ProcessSnapshot, CpuPercentSinceAnEarlierSnapshot) {
  const auto a = memx::ProcessSnapshot::capture();
  volatile double x = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  while (std::chrono::steady_clock::now() < until) x = x + 1.0;
  const auto b = memx::ProcessSnapshot::capture();
  EXPECT_GT(b.wall_seconds, a.wall_seconds);
  EXPECT_GT(b.cpu_percent_since(a), 0.0);  // it spun on this core
  EXPECT_EQ(a.cpu_percent_since(a), 0.0);
}

}  // namespace
