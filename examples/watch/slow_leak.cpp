// A "service" with a planted slow leak: every 50 ms it handles a request (temporary buffers,
// freed) and caches the request's key in a list that is never trimmed: about 4 KiB/s of live
// heap that only grows. `memx watch -- memx_example_watch_leak` finds it with high confidence
// in a few seconds. Argument: how many seconds to run (default 0: until SIGINT).
#include <chrono>
#include <cstdlib>
#include <list>
#include <string>
#include <thread>
#include <vector>

namespace {

std::list<std::string> g_seen_keys;  // the unbounded cache: the leak

void handle_request(int n) {
  std::vector<char> body(512 + static_cast<std::size_t>(n % 7) * 1024, 'x');  // freed at return
  std::string key = "request-" + std::to_string(n) + std::string(160, 'k');
  g_seen_keys.push_back(key);  // SITE: the planted leak (never evicted)
  body[0] = key[0];
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0;
  const auto start = std::chrono::steady_clock::now();
  for (int n = 0;; ++n) {
    handle_request(n);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (seconds > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(seconds))
      break;
  }
  return 0;
}
