// PreservedThreadState: memx's own work leaves the thread's floating-point flags, traps and
// errno as it found them; what the program had raised itself stays raised.
#include <gtest/gtest.h>

#include <fenv.h>
#include <signal.h>

#include <dirent.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "memx/rss.hpp"
#include "memx/thread_state.hpp"

namespace {

volatile double g_sink;
// The quotient is stored where the compiler must keep it, so the division really happens.
void divide(volatile double a, volatile double b) { g_sink = a / b; }

TEST(PreservedThreadState, ClearsOnlyTheFlagsRaisedMeanwhile) {
  feclearexcept(FE_ALL_EXCEPT);
  divide(1.0, 0.0);  // the program's own FE_DIVBYZERO
  {
    const memx::PreservedThreadState keep;
    divide(1.0, 3.0);  // FE_INEXACT, memx's
    divide(0.0, 0.0);  // FE_INVALID, memx's
    EXPECT_NE(fetestexcept(FE_INEXACT | FE_INVALID), 0);
  }
  EXPECT_EQ(fetestexcept(FE_ALL_EXCEPT), FE_DIVBYZERO);
  feclearexcept(FE_ALL_EXCEPT);
}

TEST(PreservedThreadState, DisablesTrapsMeanwhileAndRestoresThem) {
  feclearexcept(FE_ALL_EXCEPT);
  feenableexcept(FE_INVALID | FE_DIVBYZERO);
  {
    const memx::PreservedThreadState keep;
    EXPECT_EQ(fegetexcept(), 0);
    divide(0.0, 0.0);  // would be SIGFPE with the traps on
  }
  EXPECT_EQ(fegetexcept(), FE_INVALID | FE_DIVBYZERO);
  fedisableexcept(FE_ALL_EXCEPT);
  EXPECT_EQ(fetestexcept(FE_ALL_EXCEPT), 0);
}

TEST(PreservedThreadState, RestoresErrno) {
  errno = EAGAIN;
  {
    const memx::PreservedThreadState keep;
    std::FILE* f = std::fopen("/nonexistent/memx", "r");  // sets errno to ENOENT
    EXPECT_EQ(f, nullptr);
  }
  EXPECT_EQ(errno, EAGAIN);
}

// The RSS sampler thread ("memx-rss") blocks every signal: a signal sent to the process goes
// to the program's own threads, never to memx's.
TEST(SamplerThread, IsNamedAndBlocksEverySignalItCan) {
  const memx::RssWindow window(std::chrono::milliseconds(1));  // runs the sampler thread
  std::uint64_t wanted = 0;
  for (int sig : {SIGINT, SIGTERM, SIGALRM, SIGCHLD, SIGUSR1, SIGUSR2, SIGPIPE, SIGHUP}) {
    wanted |= std::uint64_t{1} << (sig - 1);
  }
  int samplers = 0;
  DIR* dir = opendir("/proc/self/task");
  ASSERT_NE(dir, nullptr);
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + e->d_name;
    std::string comm;
    std::getline(std::ifstream(task + "/comm"), comm);
    if (comm != "memx-rss") continue;
    ++samplers;
    std::ifstream status(task + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("SigBlk:", 0) != 0) continue;
      const std::uint64_t mask = std::stoull(line.substr(7), nullptr, 16);
      EXPECT_EQ(mask & wanted, wanted) << line;
    }
  }
  closedir(dir);
  EXPECT_EQ(samplers, 1) << "one sampler thread, named memx-rss";
}

}  // namespace
