// Descriptor and thread leaks (issue 11, point 4), as in tests/gtest/scenarios/resources.cpp.
// Under --memx-fail-on-leak these fail: a file left open (named by its path), a socket and
// a pipe left open, a detached thread left running; and under its budget "fds=0, threads=0",
// a test case that leaves a file open. These pass: a thread that ends within the grace
// period, a test case that closes what it opens, a SECTION that leaves nothing while its
// sibling leaves a descriptor, and a test case whose budget allows the descriptor it leaves.
#include "../catch2_include.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "memx/catch2.hpp"

namespace {
int open_self() { return ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC); }
}  // namespace

TEST_CASE("Resources.LeavesAFileOpen") { REQUIRE(open_self() >= 0); }

TEST_CASE("Resources.LeavesASocketAndAPipeOpen") {
  REQUIRE(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0);
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
}

TEST_CASE("Resources.LeavesAThreadRunning") {
  std::thread([] {
    pthread_setname_np(pthread_self(), "memx-sleeper");
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }).detach();
}

TEST_CASE("Resources.ThreadEndsWithinTheGrace") {
  std::thread([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }).detach();
}

TEST_CASE("Resources.Sections") {
  SECTION("closes what it opens") {
    const int fd = open_self();
    REQUIRE(fd >= 0);
    ::close(fd);
    std::thread([] {}).join();
  }
  SECTION("leaves one open") { REQUIRE(open_self() >= 0); }
}

TEST_CASE("ResourceBudget.FdsZero") {
  MEMX_BUDGET("fds=0, threads=0");
  REQUIRE(open_self() >= 0);
}

TEST_CASE("ResourceBudget.AllowsOne") {
  MEMX_BUDGET("fds=1");
  REQUIRE(open_self() >= 0);
}
