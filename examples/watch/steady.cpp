// A steady-state "service": it churns memory (requests of random sizes, a bounded LRU-like
// cache whose entries are replaced all the time) but keeps no more than it did at its start.
// `memx watch -- memx_example_watch_steady` finds no growth. Argument: how many seconds to
// run (default 0: until SIGINT).
#include <chrono>
#include <cstdlib>
#include <deque>
#include <random>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0;
  const auto start = std::chrono::steady_clock::now();
  std::mt19937 random(42);
  std::uniform_int_distribution<std::size_t> size(16, 8192);
  constexpr std::size_t kCacheEntries = 500;  // bounded: the oldest entry goes
  std::deque<std::string> cache;
  for (std::size_t i = 0; i < kCacheEntries; ++i) cache.emplace_back(size(random), 'c');
  for (int n = 0;; ++n) {
    std::vector<std::vector<char>> request;
    for (int i = 0; i < 20; ++i) request.emplace_back(size(random), 'r');  // freed each round
    cache.pop_front();
    cache.emplace_back(size(random), static_cast<char>('a' + n % 26));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (seconds > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(seconds))
      break;
  }
  return 0;
}
