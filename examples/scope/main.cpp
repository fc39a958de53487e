// memx::Scope and memx::track: measuring the memory of a block of code or a function.
#include <fmt/core.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "memx/memx.hpp"

namespace {

std::map<std::string, std::string> build_index(int n) {
  std::map<std::string, std::string> index;
  for (int i = 0; i < n; ++i) index.emplace(fmt::format("key-{:08}", i), std::string(64, 'v'));
  return index;
}

void print(const char* what, const memx::Usage& u) {
  fmt::print("{}:\n", what);
  fmt::print("  net        {:>10} bytes in {} blocks\n", u.net_bytes, u.net_blocks);
  fmt::print("  peak       {:>10} bytes above the start\n", u.peak_bytes);
  fmt::print("  allocs     {:>10}\n", u.allocs);
  fmt::print("  rss peak   {:>10} bytes ({:+} over the start, {} samples)\n", u.rss_peak_bytes,
             u.rss_peak_growth_bytes, u.rss_timeline.size());
  fmt::print("  wall       {:>10.3f} ms\n", static_cast<double>(u.duration.count()) / 1e6);
}

}  // namespace

int main() {
  fmt::print("memx {} counting with the {} backend\n\n", memx::kVersion, memx::backend_name());

  // 1. A scope around a block: allocations from every thread count while it is open.
  std::vector<std::string>* kept = nullptr;
  {
    memx::Scope scope(std::chrono::milliseconds(1));
    std::vector<std::thread> workers;
    for (int t = 0; t < 2; ++t) {
      workers.emplace_back([] { auto tmp = build_index(20000); });
    }
    for (auto& w : workers) w.join();
    kept = new std::vector<std::string>(1000, std::string(100, 'k'));  // still live at the end
    print("Scope around two threads building temporary indexes", scope.stop());
  }
  delete kept;

  // 2. memx::track: the decorator form; the function's result comes back with the figures.
  auto tracked = memx::track([] { return build_index(50000); }, std::chrono::milliseconds(2));
  fmt::print("\n");
  print("memx::track(build_index(50000))", tracked.usage);
  fmt::print("  result     {:>10} entries (still live: they are the function's result)\n",
             tracked.value.size());

  // 3. The process as a whole.
  const auto snap = memx::ProcessSnapshot::capture();
  fmt::print("\nprocess: rss {} bytes, vms {} bytes, {} threads, {} open fds, cpu {:.1f}%\n",
             snap.rss_bytes, snap.vms_bytes, snap.threads, snap.open_fds, snap.cpu_percent);
  return 0;
}
