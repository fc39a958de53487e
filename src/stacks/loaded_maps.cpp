// The process's memory map limited to the objects the loader knows (loaded_maps.hpp).
#include "stacks/loaded_maps.hpp"

#include <link.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <utility>
#include <vector>

namespace memx::detail {

namespace {
using Ranges = std::vector<std::pair<std::uintptr_t, std::uintptr_t>>;

/// The address span of each loaded object's PT_LOAD segments, from page starts.
Ranges loaded_objects() {
  Ranges out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        std::uintptr_t lo = ~std::uintptr_t{0}, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          lo = std::min<std::uintptr_t>(lo, info->dlpi_addr + ph.p_vaddr);
          hi = std::max<std::uintptr_t>(hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        if (lo < hi) static_cast<Ranges*>(data)->emplace_back(lo & ~std::uintptr_t{4095}, hi);
        return 0;
      },
      &out);
  return out;
}
}  // namespace

std::string loaded_module_maps() {
  const Ranges loaded = loaded_objects();
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return {};
  std::string kept;
  char* line = nullptr;
  std::size_t capacity = 0;
  while (getline(&line, &capacity, maps) > 0) {
    unsigned long start = 0, end = 0;
    int path_at = 0;
    // start-end perms offset device inode [path]
    if (std::sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &start, &end, &path_at) < 2) continue;
    bool keep = path_at <= 0 || line[path_at] != '/';
    for (const auto& [lo, hi] : loaded) keep = keep || (start < hi && lo < end);
    if (keep) kept += line;
  }
  std::free(line);
  std::fclose(maps);
  return kept;
}

}  // namespace memx::detail
