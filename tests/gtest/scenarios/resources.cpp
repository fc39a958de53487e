// Descriptor and thread leaks (issue 11, point 4). Under --memx-fail-on-leak these fail:
// a file left open (named by its path), a socket and a pipe left open, a detached thread
// left running; and under its budget "fds=0, threads=0", a test that leaves a file open.
// These pass: a thread that ends within the grace period, a test that closes what it
// opens, a test whose budget allows the descriptor it leaves (fds=1), and, repeated, a
// singleton's thread started by the first repetition only.
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "memx/gtest.hpp"

namespace {

/// The test binary itself, opened for reading: a path the message must name.
int open_self() { return ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC); }

}  // namespace

TEST(Resources, LeavesAFileOpen) { ASSERT_GE(open_self(), 0); }

TEST(Resources, LeavesASocketAndAPipeOpen) {
  ASSERT_GE(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
}

TEST(Resources, LeavesAThreadRunning) {
  std::thread([] {
    pthread_setname_np(pthread_self(), "memx-sleeper");
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }).detach();
}

TEST(Resources, ThreadEndsWithinTheGrace) {
  // Still shutting down when the test body returns: gone 20 ms later.
  std::thread([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }).detach();
}

TEST(Resources, ClosesWhatItOpens) {
  const int fd = open_self();
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::thread([] {}).join();
}

// A singleton's worker, started by the first run of the test and by no later one.
TEST(Singleton, StartsAThreadOnce) {
  static const bool started = [] {
    std::thread([] {
      pthread_setname_np(pthread_self(), "memx-singleton");
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }).detach();
    return true;
  }();
  EXPECT_TRUE(started);
}

TEST(ResourceBudget, FdsZero) {
  MEMX_BUDGET("fds=0, threads=0");
  ASSERT_GE(open_self(), 0);
}

TEST(ResourceBudget, AllowsOne) {
  MEMX_BUDGET("fds=1");
  ASSERT_GE(open_self(), 0);
}
