// The decompressed copy of a debug file (src/stacks/inflated_debuginfo.hpp): section by
// section, libelf must read from the copy exactly what it decompresses from the original,
// and the symboliser must name the same frames through it. The fixture is this test
// program's own library memx_stacks_dlopened with its debug sections compressed by objcopy
// (MEMX_STACKS_ZDEBUG_PATH, made at build time).
#include <fcntl.h>
#include <gelf.h>
#include <gtest/gtest.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "memx/stacks.hpp"
#include "memx/symbols.hpp"
#include "stacks/inflated_debuginfo.hpp"

namespace memx::detail {
namespace {

struct Section {
  std::string name;
  GElf_Word type;
  GElf_Xword flags;
  GElf_Xword align;
  std::string data;
  bool operator==(const Section& o) const {
    return name == o.name && type == o.type && flags == o.flags && align == o.align && data == o.data;
  }
};

/// Every section of the ELF file open as fd, as libelf gives them, compressed ones
/// decompressed with elf_compress (what libdw does); counts the compressed ones.
std::vector<Section> sections(int fd, int* compressed) {
  std::vector<Section> out;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, nullptr);
  EXPECT_NE(elf, nullptr) << elf_errmsg(-1);
  if (elf == nullptr) return out;
  std::size_t shstrndx = 0;
  EXPECT_EQ(elf_getshdrstrndx(elf, &shstrndx), 0);
  *compressed = 0;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    if ((sh.sh_flags & SHF_COMPRESSED) != 0) {
      ++*compressed;
      EXPECT_EQ(elf_compress(scn, 0, 0), 1) << elf_errmsg(-1);
      gelf_getshdr(scn, &sh);
    }
    Section s;
    const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
    s.name = name != nullptr ? name : "";
    s.type = sh.sh_type;
    s.flags = sh.sh_flags;
    s.align = sh.sh_addralign;
    if (sh.sh_type != SHT_NOBITS) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (d != nullptr && d->d_buf != nullptr) s.data.assign(static_cast<const char*>(d->d_buf), d->d_size);
    }
    out.push_back(std::move(s));
  }
  elf_end(elf);
  return out;
}

TEST(InflatedDebuginfo, TheCopyHoldsWhatLibelfDecompresses) {
  if (!inflater_available()) GTEST_SKIP() << "libdeflate (libdeflate0) is not installed";
  const int fd = open(MEMX_STACKS_ZDEBUG_PATH, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << MEMX_STACKS_ZDEBUG_PATH;
  int compressed = 0;
  const std::vector<Section> want = sections(fd, &compressed);
  ASSERT_GE(compressed, 3) << "the fixture should have its .debug_* sections compressed";
  const int copy = inflated_copy(fd);
  ASSERT_GE(copy, 0);
  EXPECT_EQ(fcntl(copy, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  int left = -1;
  const std::vector<Section> got = sections(copy, &left);
  EXPECT_EQ(left, 0) << "a section is still compressed in the copy";
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(got[i] == want[i]) << want[i].name;
  // The original is left as it was, at the same position.
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  close(copy);
  close(fd);
}

TEST(InflatedDebuginfo, NothingToDoOrNotElfIsMinusOne) {
  // The uncompressed library: nothing to decompress.
  int fd = open(MEMX_STACKS_DLOPENED_PATH, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(inflated_copy(fd), -1);
  close(fd);
  // A text file, an empty file, and the fixture cut short (its section headers are at the end).
  char path[] = "/tmp/memx-inflate-XXXXXX";
  fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  EXPECT_EQ(inflated_copy(fd), -1);
  ASSERT_EQ(write(fd, "not an ELF file\n", 16), 16);
  EXPECT_EQ(inflated_copy(fd), -1);
  const int z = open(MEMX_STACKS_ZDEBUG_PATH, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(z, 0);
  struct stat st{};
  ASSERT_EQ(fstat(z, &st), 0);
  std::vector<char> bytes(static_cast<std::size_t>(st.st_size));
  ASSERT_EQ(pread(z, bytes.data(), bytes.size(), 0), st.st_size);
  close(z);
  ASSERT_EQ(ftruncate(fd, 0), 0);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size() / 2, 0), static_cast<ssize_t>(bytes.size() / 2));
  EXPECT_EQ(inflated_copy(fd), -1);
  // A compressed stream damaged in the middle: -1, not a copy with wrong contents.
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  for (int i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, bytes.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
    if ((sh.sh_flags & SHF_COMPRESSED) != 0 && sh.sh_size > 64) {
      for (std::size_t k = sizeof(Elf64_Chdr) + 8; k < sh.sh_size; ++k) bytes[sh.sh_offset + k] ^= 0x5a;
      break;
    }
  }
  ASSERT_EQ(ftruncate(fd, 0), 0);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  if (inflater_available()) EXPECT_EQ(inflated_copy(fd), -1);
  close(fd);
}

/// True when the process maps a decompressed copy (the memfd inflated_copy names).
bool maps_a_copy() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find("memfd:memx-debuginfo") != std::string::npos) return true;
  }
  return false;
}

/// The frames the symboliser gives for the return addresses of a stack allocated by
/// allocate(n), as "function file:line" lines.
std::string resolved_lines(symbols::Symbolizer& sym, void* (*allocate)(std::size_t)) {
  const std::uint64_t first = stacks::next_allocation_number();
  char* p = static_cast<char*>(allocate(444));
  stacks::Filter f;
  f.first_number = first;
  std::string out;
  for (const stacks::Site& s : stacks::live_sites(f)) {
    for (const std::uintptr_t pc : stacks::frames(s.stack_id)) {
      for (const symbols::Frame& fr : sym.resolve(pc)) {
        out += fr.function + " " + fr.file + ":" + std::to_string(fr.line) + "\n";
      }
    }
  }
  delete[] p;
  return out;
}

// A library whose debug file (found by its .gnu_debuglink) has compressed sections: the
// symboliser reads the decompressed copy, and names the allocating line as it always did.
TEST(InflatedDebuginfo, TheSymboliserReadsACompressedDebugFileThroughTheCopy) {
  if (!inflater_available()) GTEST_SKIP() << "libdeflate (libdeflate0) is not installed";
  ASSERT_TRUE(stacks::enable(16));
  void* handle = dlopen(MEMX_STACKS_ZDEBUG_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using Allocate = void* (*)(std::size_t);
  auto allocate = reinterpret_cast<Allocate>(dlsym(handle, "memx_test_dlopened_allocate"));
  ASSERT_NE(allocate, nullptr);
  symbols::Symbolizer sym;
  const std::string lines = resolved_lines(sym, allocate);
  EXPECT_NE(lines.find("memx_test_dlopened_allocate "), std::string::npos) << lines;
  EXPECT_NE(lines.find("dlopened.cpp:5\n"), std::string::npos) << lines;
  EXPECT_TRUE(maps_a_copy()) << "the debug file was read without the decompressed copy";
  // Left loaded: under the dwarf-cfi walk, a library dlopen'd later at the address of this
  // one, once unloaded, had its first capture dropped (Symbolizer.ALibraryLoadedLaterIsFound
  // failed after this test in one process); that is the unwinder's to fix, not this test's.
  (void)handle;
  stacks::disable();
}

// A module with no debug file anywhere (Debian's libstdc++ without its -dbg package) and no
// debuginfod server named: the symboliser says so without libdwfl's standard search, which
// would load libdebuginfod (and libcurl, and its TLS libraries) into the process to ask none.
TEST(InflatedDebuginfo, NoDebugFileAndNoServerLoadsNoDebuginfodClient) {
  if (dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_NOLOAD) != nullptr) {
    GTEST_SKIP() << "libdebuginfod is already loaded in this process";
  }
  const auto pc = reinterpret_cast<std::uintptr_t>(&std::terminate);
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(pc), &info) == 0 || info.dli_fname == nullptr ||
      std::string(info.dli_fname).find("libstdc++") == std::string::npos) {
    GTEST_SKIP() << "std::terminate is not in libstdc++.so here";
  }
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  const std::string saved = urls != nullptr ? urls : "";
  unsetenv("DEBUGINFOD_URLS");
  symbols::Symbolizer sym;
  const std::vector<symbols::Frame>& frames = sym.resolve(pc + 1);
  if (urls != nullptr) setenv("DEBUGINFOD_URLS", saved.c_str(), 1);
  ASSERT_FALSE(frames.empty());
  EXPECT_NE(frames.front().function.find("terminate"), std::string::npos) << frames.front().function;
  if (frames.front().line > 0) GTEST_SKIP() << "libstdc++'s debug information is installed here";
  EXPECT_EQ(frames.front().note, "no debug information");
  EXPECT_EQ(dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_NOLOAD), nullptr)
      << "the symboliser loaded the debuginfod client to look for a file that is nowhere";
}

}  // namespace
}  // namespace memx::detail
