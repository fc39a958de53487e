// Linked into the *_memx workload binaries only: proves that memx counted the run.
//
// At exit, prints one line that run.py parses, e.g.
//   memx-bench: allocs=123 frees=120 bytes_allocated=4567 bytes_freed=4000 live_bytes=567
//               peak_bytes=890 backend=mimalloc
// and, when stack mode is on (MEMX_STACKS), a second line that bench/stacks.py checks:
//   memx-bench-stacks: depth=32 unwinder=libunwind stacks=412 live_blocks=3 map_bytes=1572864
//                      table_bytes=1101824 dropped=0
// A missing line or allocs=0 means the counting operator new was not linked in, and the
// "memx" column would silently be measuring the plain allocator.
#include <cinttypes>
#include <cstdio>

#include "memx/counters.hpp"
#include "memx/stacks.hpp"

namespace {

struct ReportAtExit {
  ~ReportAtExit() {
    const memx::Counters c = memx::counters();
    std::fprintf(stderr,
                 "memx-bench: allocs=%" PRIu64 " frees=%" PRIu64 " bytes_allocated=%" PRIu64
                 " bytes_freed=%" PRIu64 " live_bytes=%" PRId64 " peak_bytes=%" PRId64
                 " backend=%s\n",
                 c.allocs, c.frees, c.bytes_allocated, c.bytes_freed, c.live_bytes, c.peak_bytes,
                 memx::backend_name());
    if (memx::stacks::enabled()) {
      const memx::stacks::MemoryUse m = memx::stacks::memory_use();
      std::fprintf(stderr,
                   "memx-bench-stacks: depth=%d unwinder=%s stacks=%" PRIu64 " live_blocks=%" PRIu64
                   " map_bytes=%" PRIu64 " table_bytes=%" PRIu64 " dropped=%" PRIu64 "\n",
                   memx::stacks::depth(), memx::stacks::unwinder_name(memx::stacks::unwinder()),
                   m.stacks, m.live_blocks, m.live_map_bytes, m.stack_table_bytes, m.dropped);
    }
  }
};

// Constructed before main (and before gtest's own statics are used), destroyed after
// the test run, when every test thread has been joined.
ReportAtExit g_report;

}  // namespace
