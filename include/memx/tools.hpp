// memx: other tools in the process (sanitizers, Valgrind) and what they change for memx.
#pragma once

namespace memx {

/// A tool in the process that watches the heap, found when the first block was allocated.
enum class Tool : unsigned char {
  none,                  ///< no such tool
  address_sanitizer,     ///< AddressSanitizer (-fsanitize=address; includes LeakSanitizer)
  hwaddress_sanitizer,   ///< HWAddressSanitizer (-fsanitize=hwaddress)
  memory_sanitizer,      ///< MemorySanitizer (-fsanitize=memory)
  thread_sanitizer,      ///< ThreadSanitizer (-fsanitize=thread)
  leak_sanitizer,        ///< LeakSanitizer alone (-fsanitize=leak)
  valgrind,              ///< the process runs on Valgrind's synthetic CPU
  heaptrack,             ///< heaptrack's preload: it wraps mimalloc, memx counts as usual
};

/// The tool in this process, detected once without allocating (the sanitizers' runtime
/// symbols, Valgrind's client request, heaptrack_init). With a sanitizer or Valgrind,
/// memx counts on the C library's malloc, which the tool intercepts, so every check of the
/// tool keeps working; heaptrack sees mimalloc's calls, so nothing changes for it.
Tool detected_tool() noexcept;

/// True when memx counts on the C library's allocator because of detected_tool() although
/// it was built on mimalloc (a build on the C library counts on it anyway).
bool allocator_switched_for_tool() noexcept;

/// The tool's own name ("AddressSanitizer", "Valgrind", ...); "" for Tool::none.
const char* tool_name(Tool tool) noexcept;

/// Whether memx's counting operator new sees this process's allocations: allocates and
/// frees one block through ::operator new and checks that the calling thread's counters
/// moved. False under Valgrind's Memcheck (and any tool that replaces operator new).
bool allocations_counted() noexcept;

}  // namespace memx
