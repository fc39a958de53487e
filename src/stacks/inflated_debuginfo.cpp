// Debug files with their compressed sections decompressed ahead of libdw (inflated_debuginfo.hpp).
#include "inflated_debuginfo.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <utility>
#include <vector>

#if !defined(MEMX_LIBDEFLATE_SONAME)
#define MEMX_LIBDEFLATE_SONAME "libdeflate.so.0"
#endif

namespace memx::detail {
namespace {

// libdeflate's interface (libdeflate.h, stable since 1.0); loaded at run time, so that
// neither building nor running memx needs it.
struct libdeflate_decompressor;
using AllocFn = libdeflate_decompressor* (*)();
using FreeFn = void (*)(libdeflate_decompressor*);
using ZlibFn = int (*)(libdeflate_decompressor*, const void*, std::size_t, void*, std::size_t,
                       std::size_t*);
constexpr int kLibdeflateSuccess = 0;

struct Libdeflate {
  AllocFn alloc = nullptr;
  FreeFn free = nullptr;
  ZlibFn zlib = nullptr;
};

const Libdeflate& libdeflate() noexcept {
  static const Libdeflate lib = [] {
    Libdeflate l;
    void* h = dlopen(MEMX_LIBDEFLATE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return l;
    l.alloc = reinterpret_cast<AllocFn>(dlsym(h, "libdeflate_alloc_decompressor"));
    l.free = reinterpret_cast<FreeFn>(dlsym(h, "libdeflate_free_decompressor"));
    l.zlib = reinterpret_cast<ZlibFn>(dlsym(h, "libdeflate_zlib_decompress"));
    if (l.alloc == nullptr || l.free == nullptr || l.zlib == nullptr) l = Libdeflate{};
    return l;
  }();
  return lib;
}

/// A read-only mapping of a whole file, unmapped when it goes.
struct Mapping {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  Mapping(void* p, std::size_t n) noexcept
      : data(p == MAP_FAILED ? nullptr : static_cast<const unsigned char*>(p)), size(n) {}
  ~Mapping() {
    if (data != nullptr) munmap(const_cast<unsigned char*>(data), size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

/// Rounds n up to a multiple of align (a power of two), false on overflow.
bool align_up(std::uint64_t& n, std::uint64_t align) noexcept {
  if (align <= 1) return true;
  if ((align & (align - 1)) != 0 || n > UINT64_MAX - (align - 1)) return false;
  n = (n + align - 1) & ~(align - 1);
  return true;
}

/// One compressed section: where its stream is and where its contents go in the copy.
struct Inflate {
  std::size_t index;       // its section header
  std::uint64_t in_at;     // the zlib stream (after the compression header) in the file
  std::uint64_t in_size;
  std::uint64_t out_at;    // its contents in the copy
  std::uint64_t out_size;  // ch_size
  std::uint64_t align;     // ch_addralign
};

}  // namespace

bool inflater_available() noexcept { return libdeflate().zlib != nullptr; }

int inflated_copy(int fd) noexcept {
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    return -1;
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  const Mapping in(mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0), file_size);
  if (in.data == nullptr) return -1;
  Elf64_Ehdr eh;
  std::memcpy(&eh, in.data, sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      eh.e_shnum == 0 || eh.e_shoff > file_size ||
      (file_size - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum) {
    return -1;  // extended numbering (e_shnum 0) or a malformed file: libdw's own way
  }
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  std::memcpy(sh.data(), in.data + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
  std::vector<Inflate> work;
  std::uint64_t end = file_size;  // the copy: the file, then each section decompressed
  for (std::size_t i = 0; i < sh.size(); ++i) {
    const Elf64_Shdr& s = sh[i];
    if ((s.sh_flags & SHF_COMPRESSED) == 0 || s.sh_type == SHT_NOBITS) continue;
    if (s.sh_offset > file_size || s.sh_size > file_size - s.sh_offset || s.sh_size < sizeof(Elf64_Chdr)) {
      return -1;
    }
    Elf64_Chdr ch;
    std::memcpy(&ch, in.data + s.sh_offset, sizeof ch);
    if (ch.ch_type != ELFCOMPRESS_ZLIB) return -1;  // zstd (newer toolchains): libdw decides
    Inflate w{i, s.sh_offset + sizeof ch, s.sh_size - sizeof ch, 0, ch.ch_size, ch.ch_addralign};
    if (!align_up(end, w.align > 8 ? w.align : 8) || end > UINT64_MAX - w.out_size) return -1;
    w.out_at = end;
    end += w.out_size;
    work.push_back(w);
  }
  if (work.empty()) return -1;
  const Libdeflate& lib = libdeflate();
  if (lib.zlib == nullptr) return -1;
  std::uint64_t table_at = end;
  const std::uint64_t table_size = sh.size() * sizeof(Elf64_Shdr);
  if (!align_up(table_at, 8) || table_at > UINT64_MAX - table_size) return -1;
  const std::uint64_t total = table_at + table_size;
  if (total > static_cast<std::uint64_t>(SIZE_MAX / 2)) return -1;

  const int out_fd = memfd_create("memx-debuginfo", MFD_CLOEXEC);
  if (out_fd < 0) return -1;
  void* p = MAP_FAILED;
  if (ftruncate(out_fd, static_cast<off_t>(total)) == 0) {
    p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, out_fd, 0);
  }
  if (p == MAP_FAILED) {
    close(out_fd);
    return -1;
  }
  auto* out = static_cast<unsigned char*>(p);
  // The file but the compressed streams, which nothing reads in the copy: pages of the
  // memory file never written cost nothing.
  std::uint64_t from = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> skip;
  for (const Inflate& w : work) skip.emplace_back(  // by offset: headers need not be in order
      w.in_at - sizeof(Elf64_Chdr), w.in_at + w.in_size);
  std::sort(skip.begin(), skip.end());
  for (const auto& [lo, hi] : skip) {
    if (lo > from) std::memcpy(out + from, in.data + from, lo - from);
    if (hi > from) from = hi;
  }
  if (from < file_size) std::memcpy(out + from, in.data + from, file_size - from);
#if defined(MADV_POPULATE_WRITE)
  // One call that allocates the pages the decompressed sections fill, rather than a fault
  // per page (Linux 5.14; an older kernel says EINVAL and the faults happen as before).
  (void)madvise(out + file_size - file_size % 4096, total - (file_size - file_size % 4096), MADV_POPULATE_WRITE);
#endif
  libdeflate_decompressor* d = lib.alloc();
  bool ok = d != nullptr;
  for (const Inflate& w : work) {
    if (!ok) break;
    std::size_t got = 0;
    ok = lib.zlib(d, in.data + w.in_at, w.in_size, out + w.out_at, w.out_size, &got) ==
             kLibdeflateSuccess &&
         got == w.out_size;
    Elf64_Shdr& s = sh[w.index];
    s.sh_flags &= ~static_cast<Elf64_Xword>(SHF_COMPRESSED);
    s.sh_offset = w.out_at;
    s.sh_size = w.out_size;
    s.sh_addralign = w.align;
  }
  if (d != nullptr) lib.free(d);
  if (ok) {
    std::memcpy(out + table_at, sh.data(), table_size);
    eh.e_shoff = table_at;
    std::memcpy(out, &eh, sizeof eh);
  }
  munmap(p, total);
  if (!ok) {  // a corrupt stream: libdw reads the file itself and says what it finds
    close(out_fd);
    return -1;
  }
  return out_fd;
}

}  // namespace memx::detail
