// Separate debug files with compressed sections, decompressed faster than libdw would.
//
// Debian's -dbg/-dbgsym packages (libc6-dbg among them) ship their debug files with every
// .debug_* section compressed (SHF_COMPRESSED, zlib). libdw decompresses all of them with
// zlib when it first reads the file: for libc's, 10 MB, about 60 ms, which was most of the
// fixed cost of a stack-mode run (every stack ends in __libc_start_call_main). libdeflate
// (Debian's libdeflate0, loaded with dlopen when present) inflates the same streams about
// three times as fast. The symboliser's find_debuginfo callback hands libdw a copy of such a
// file, in memory, whose compressed sections are already decompressed: the same bytes libdw
// would have decompressed itself, so every frame, file and line is what it was.
#pragma once

namespace memx::detail {

/// A copy of the ELF file open as fd, in an anonymous memory file (memfd), with each
/// zlib-compressed section replaced by its decompressed contents (flag and sizes as libelf
/// gives them after elf_compress(scn, 0, 0)); everything else byte for byte. Returns the new
/// descriptor (close-on-exec), or -1 when there is nothing to do or it cannot be done: no
/// compressed section, another compression than zlib, not a 64-bit little-endian ELF file,
/// a malformed one, libdeflate not installed, no memory. fd is left open and unmoved.
int inflated_copy(int fd) noexcept;

/// True when libdeflate could be loaded (inflated_copy can do its work).
bool inflater_available() noexcept;

}  // namespace memx::detail
