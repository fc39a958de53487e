// One allocate/free pair, three allocators, a few sizes (Google Benchmark).
//
//   memx     ::operator new / ::operator delete: memx's counting pair (this binary links
//            memx::memx, so the global operators are memx's); also with the sized delete
//   mimalloc mi_new / mi_free: exactly what libstdc++ programs get with LD_PRELOAD=libmimalloc
//            (libmimalloc's _Znwm and _ZdlPv are aliases of these two)
//   glibc    __libc_malloc / __libc_free: libmimalloc also overrides malloc in this process,
//            so glibc's allocator is reached by its internal names
//   c        malloc / free as a program calls them: libmimalloc's (uncounted) in
//            bench_alloc_pair, memx::count_malloc's counting pair in bench_alloc_pair_malloc
//
// The breakdown rows isolate what memx adds on top of mimalloc: the two usable-size
// lookups (one per call) and the per-thread counter updates. run.py prints all of them.
#include <benchmark/benchmark.h>
#include <mimalloc.h>

#include <cstddef>
#include <cstdlib>
#include <new>

extern "C" {
void* __libc_malloc(std::size_t size);  // NOLINT: glibc's own names, exported for this use
void __libc_free(void* block);          // NOLINT
}

namespace {

const long kSizes[] = {16, 64, 256, 4096};

void sizes(benchmark::internal::Benchmark* b) {
  for (long s : kSizes) b->Arg(s);
}

void memx_pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = ::operator new(n);
    benchmark::DoNotOptimize(p);
    ::operator delete(p);
    benchmark::ClobberMemory();
  }
}

// What `delete ptr` on a complete type and std::allocator emit (GCC sizes deallocations
// by default from C++14 on): the same pair with the size passed back.
void memx_sized_pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = ::operator new(n);
    benchmark::DoNotOptimize(p);
    ::operator delete(p, n);
    benchmark::ClobberMemory();
  }
}

void mimalloc_pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = mi_new(n);
    benchmark::DoNotOptimize(p);
    mi_free(p);
    benchmark::ClobberMemory();
  }
}

void glibc_pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = __libc_malloc(n);
    benchmark::DoNotOptimize(p);
    __libc_free(p);
    benchmark::ClobberMemory();
  }
}

// Through volatile pointers, so that the compiler cannot pair and remove the calls.
void* (*volatile c_malloc)(std::size_t) = &std::malloc;
void (*volatile c_free)(void*) = &std::free;

void c_pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = c_malloc(n);
    benchmark::DoNotOptimize(p);
    c_free(p);
    benchmark::ClobberMemory();
  }
}

// Breakdown: mimalloc's pair plus the two mi_usable_size calls memx makes, without the
// counters. memx's pair minus this row is the cost of the counter updates.
void mimalloc_usable_size_pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = mi_new(n);
    std::size_t a = mi_usable_size(p);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(p);
    std::size_t b = mi_usable_size(p);
    benchmark::DoNotOptimize(b);
    mi_free(p);
    benchmark::ClobberMemory();
  }
}

}  // namespace

BENCHMARK(memx_pair)->Apply(sizes);
BENCHMARK(memx_sized_pair)->Apply(sizes);
BENCHMARK(mimalloc_pair)->Apply(sizes);
BENCHMARK(glibc_pair)->Apply(sizes);
BENCHMARK(c_pair)->Apply(sizes);
BENCHMARK(mimalloc_usable_size_pair)->Apply(sizes);

BENCHMARK_MAIN();
