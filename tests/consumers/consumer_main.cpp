// A program of a memx user: linking memx::memx is all it takes for new/delete to be counted.
#include <cstdio>
#include <string>
#include <vector>

#include <memx/memx.hpp>

int main() {
  auto tracked = memx::track([] { return std::vector<std::string>(10, std::string(100, 'x')); });
  std::printf("consumer: %llu allocations, net %lld bytes, backend %s\n",
              static_cast<unsigned long long>(tracked.usage.allocs),
              static_cast<long long>(tracked.usage.net_bytes), memx::backend_name());
  // 10 strings, the vector's buffer and one temporary string.
  return tracked.usage.allocs == 12 && tracked.usage.net_blocks == 11 ? 0 : 1;
}
