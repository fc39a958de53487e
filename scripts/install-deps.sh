#!/usr/bin/env bash
# Installs everything memx needs to build, test and benchmark, from Debian 12's packages.
set -euo pipefail
packages=(
  cmake make g++ git python3       # build tools; python3 runs bench/ and a few test scripts
  pkgconf                          # pkg-config, which finds libunwind and libdw (memx's CMakeLists.txt and its installed package); no package above pulls it in
  libmimalloc-dev                  # the allocator behind the counting operator new
  libfmt-dev                       # formatting of messages, tables and summaries
  libgtest-dev libgmock-dev googletest  # GoogleTest plugin, memx's own tests; sources for the from-source consumer
  catch2                           # Catch2 plugin (v2.13)
  nlohmann-json3-dev               # reports: the CLI's JSON outputs, and where a malformed report is wrong
  libsimdjson-dev                  # reports: reading them fast (a million tests in seconds)
  libunwind-dev                    # stack mode: unw_backtrace where code has no frame pointers
  libdw-dev                        # stack mode: symbolisation (elfutils' dwfl: functions, lines, inlined frames)
  libdeflate0                      # stack mode, optional (dlopen'd): decompresses a -dbg package's compressed debug file (libc6-dbg's) three times as fast as libdw's zlib
  libcli11-dev                     # the memx command-line tool's argument parsing
  chromium                         # renders memx html's page in the CLI's browser test (headless)
  libbenchmark-dev                 # micro-benchmarks under bench/
  clang libclang-rt-14-dev         # libFuzzer targets of the report and budget readers
  valgrind                         # the tools.valgrind.* tests; its valgrind.h lets memx detect it
  heaptrack                        # the tools.heaptrack test: memx must keep heaptrack working
  gdb                              # numbers.*_break: MEMX_BREAK_ON_ALLOC stops at the leaking line in a debugger
  libcpp-httplib-dev               # examples/http: the per-request memory example (memx::RequestScope in an HTTP server) and its loopback tests (tests/http); both are left out without it
  python3-jsonschema python3-yaml  # tests: the JSON Schema checks of the report and the --json outputs; examples/ci's workflow read step by step
)
if [ "${1:-}" = "--print" ]; then  # the list alone, for .ci/run
  echo "${packages[@]}"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
