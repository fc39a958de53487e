// Writes a memx report of N tests shaped like a real suite's (names, files, budgets, some
// violations and leaks, one to three runs), for the scale benchmark (scale.py): what the
// CLI's commands cost on a report of a million tests, and what writing one costs.
//
//   memx_bench_make_report N OUT [--runs R] [--seed S]
//
// --seed changes a few figures, so two reports differ as a baseline and a new run do.
// Prints "make_report: N tests, B bytes, written in T ms" (to_json and the file write).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "memx/report.hpp"

namespace {

int usage() {
  std::fprintf(stderr, "usage: memx_bench_make_report N OUT [--runs R] [--seed S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const long n = std::strtol(argv[1], nullptr, 10);
  const std::string out = argv[2];
  int runs = 1;
  unsigned long seed = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--runs") {
      runs = std::atoi(argv[i + 1]);
    } else if (flag == "--seed") {
      seed = std::strtoul(argv[i + 1], nullptr, 10);
    } else {
      return usage();
    }
  }
  if (n <= 0 || runs <= 0) return usage();

  memx::Report r;
  r.framework = "googletest";
  r.binary = "/build/tests/service_tests";
  r.pid = 4242;
  r.complete = true;
  r.repetitions = runs;
  r.started_at = "2026-11-30T12:00:00Z";
  r.finished_at = "2026-11-30T12:20:00Z";
  r.run_id = fmt::format("2026-11-30T12:00:00.{:06}Z/4242", seed);
  r.backend = "mimalloc";
  for (int i = 0; i < runs; ++i) r.iteration_end_live_bytes.push_back(1 << 20);
  std::mt19937_64 rng(seed);
  // The same tests in every report; --seed moves about 1 in 50 of their figures.
  std::mt19937_64 shape(7);
  r.tests.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    memx::TestRecord t;
    t.name = fmt::format("Module{}/ServiceTest.HandlesRequestKind/{}", i / 1000, i % 1000);
    t.file = fmt::format("tests/module_{}/service_test.cpp", i / 1000);
    t.line = 20 + static_cast<int>(i % 1000);
    const std::uint64_t s = shape();
    const bool moved = rng() % 50 == 0;
    for (int k = 0; k < runs; ++k) {
      memx::RunRecord run;
      run.peak_bytes = static_cast<std::int64_t>(64 + s % 65536) * (moved ? 2 : 1);
      run.allocs = 1 + s % 900;
      run.net_bytes = (s % 97 == 0 || moved) ? 64 : 0;
      run.net_blocks = run.net_bytes != 0 ? 1 : 0;
      run.rss_peak_bytes = (s % 13 == 0) ? 4096 : 0;
      run.duration_ms = static_cast<double>(s % 5000) / 1000.0;
      t.runs.push_back(run);
    }
    if (s % 5 == 0) t.budget = memx::parse_budget("peak=48KiB, allocs=800").budget;
    r.tests.push_back(std::move(t));
  }
  memx::analyze_report(r);
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  std::size_t bytes = 0;
  // As the plugins write their report: in pieces, atomically (not fsynced).
  const bool ok = memx::write_file_atomically(
      out,
      [&](const memx::TextSink& sink) {
        return memx::write_json(r, [&](std::string_view piece) {
          bytes += piece.size();
          return sink(piece);
        });
      },
      /*durable=*/false, &error);
  if (!ok) {
    std::fprintf(stderr, "make_report: %s\n", error.c_str());
    return 1;
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("make_report: %ld tests, %zu bytes, written in %.0f ms\n", n, bytes, ms);
  return 0;
}
