// Programs for `memx watch` (tests/watch/CMakeLists.txt), linked with memx::watch:
//   fds SECONDS      opens /dev/null every 100 ms and never closes it
//   threads SECONDS  starts a thread every 200 ms that never ends (never joined)
//   rss SECONDS      maps and touches 64 KiB every 50 ms outside operator new
//   abort SECONDS    aborts after SECONDS (no report: no exit handler runs)
//   exit3 SECONDS    exit(3) after SECONDS (the report is written at exit)
//   forever          sleeps until a signal ends it
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

template <class Tick>
void run_for(double seconds, std::chrono::milliseconds every, Tick&& tick) {
  const auto start = std::chrono::steady_clock::now();
  while (seconds <= 0 ||
         std::chrono::steady_clock::now() - start < std::chrono::duration<double>(seconds)) {
    tick();
    std::this_thread::sleep_for(every);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s fds|threads|rss|abort|exit3|forever [SECONDS]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const double seconds = argc > 2 ? std::atof(argv[2]) : 0;
  if (mode == "fds") {
    run_for(seconds, std::chrono::milliseconds(100), [] { (void)::open("/dev/null", O_RDONLY); });
  } else if (mode == "threads") {
    run_for(seconds, std::chrono::milliseconds(200), [] {
      std::thread([] { ::pause(); }).detach();  // never ends
    });
  } else if (mode == "rss") {
    run_for(seconds, std::chrono::milliseconds(50), [] {
      const std::size_t size = 64 * 1024;
      void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) std::memset(p, 1, size);  // resident, never unmapped
    });
  } else if (mode == "abort") {
    run_for(seconds, std::chrono::milliseconds(100), [] {});
    std::abort();
  } else if (mode == "exit3") {
    run_for(seconds, std::chrono::milliseconds(100), [] {});
    std::exit(3);
  } else if (mode == "forever") {
    for (;;) ::pause();
  } else {
    std::fprintf(stderr, "%s: unknown mode \"%s\"\n", argv[0], mode.c_str());
    return 2;
  }
  return 0;
}
