// The process's memory map limited to the objects the loader knows (loaded_maps.hpp).
#include "stacks/loaded_maps.hpp"

#include <link.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <utility>
#include <vector>

namespace memx::detail {

namespace {

/// One loaded object: the address span of its PT_LOAD segments (from page starts) and the
/// file it was loaded from (device and inode, as /proc/self/maps shows them).
struct Loaded {
  std::uintptr_t lo, hi;
  unsigned dev_major, dev_minor;
  unsigned long inode;
};
using Objects = std::vector<Loaded>;

Objects loaded_objects() {
  Objects out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        std::uintptr_t lo = ~std::uintptr_t{0}, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          lo = std::min<std::uintptr_t>(lo, info->dlpi_addr + ph.p_vaddr);
          hi = std::max<std::uintptr_t>(hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        // The main program's name is "" (and the vdso's names no file: it matches none).
        const char* path = info->dlpi_name != nullptr && info->dlpi_name[0] != '\0'
                               ? info->dlpi_name
                               : "/proc/self/exe";
        struct stat st {};
        if (lo < hi && ::stat(path, &st) == 0) {
          static_cast<Objects*>(data)->push_back(Loaded{lo & ~std::uintptr_t{4095}, hi, major(st.st_dev),
                                                         minor(st.st_dev),
                                                         static_cast<unsigned long>(st.st_ino)});
        }
        return 0;
      },
      &out);
  return out;
}
}  // namespace

std::string loaded_module_maps() {
  const Objects loaded = loaded_objects();
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return {};
  std::string kept;
  char* line = nullptr;
  std::size_t capacity = 0;
  while (getline(&line, &capacity, maps) > 0) {
    unsigned long start = 0, end = 0, inode = 0;
    unsigned dev_major = 0, dev_minor = 0;
    int path_at = 0;
    // start-end perms offset device inode [path]
    if (std::sscanf(line, "%lx-%lx %*s %*s %x:%x %lu %n", &start, &end, &dev_major, &dev_minor,
                    &inode, &path_at) < 5) {
      continue;
    }
    // A file mapping is kept when it lies in an object loaded from that same file: libdw's
    // own mappings of files it reads can land in a hole inside another object's span (seen:
    // librtmp's file mapped there, which made libdwfl's librtmp module cover a library
    // dlopen'd later between that hole and the real librtmp).
    bool keep = path_at <= 0 || line[path_at] != '/';
    for (const Loaded& o : loaded) {
      keep = keep || (start < o.hi && o.lo < end && inode == o.inode && dev_major == o.dev_major &&
                      dev_minor == o.dev_minor);
    }
    if (keep) kept += line;
  }
  std::free(line);
  std::fclose(maps);
  return kept;
}

void loader_counters(unsigned long long& adds, unsigned long long& subs) noexcept {
  struct Counts {
    unsigned long long adds = 0, subs = 0;
  } c;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t size, void* data) -> int {
        auto* out = static_cast<Counts*>(data);
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
          out->adds = info->dlpi_adds;
          out->subs = info->dlpi_subs;
        }
        return 1;  // the counters are the same in every entry
      },
      &c);
  adds = c.adds;
  subs = c.subs;
}

}  // namespace memx::detail
