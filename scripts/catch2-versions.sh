#!/usr/bin/env bash
# Builds memx's Catch2 plugin, its tests and the Catch2 pattern tests against Catch2 3
# releases built from source, and runs them (issue 14; outside the per-commit CI, since
# Debian 12 ships no Catch2 3; CI tests Catch2 2.13).
#
#   scripts/catch2-versions.sh CATCH2_SOURCE [VERSION...]
#
# CATCH2_SOURCE  a git directory or clone of github.com/catchorg/Catch2 (for example what the
#                search tool's fetch of github:catchorg/Catch2 brings: /work/.mirror/catchorg+Catch2/repo)
# VERSION        tags or commits of it; default: v3.4.0 (Ubuntu 24.04), v3.7.1 (Debian 13)
#                and the newest v3 tag of the source
#
# For each version, under $WORK (default /tmp/memx-catch2-versions)/<version>/: the sources
# (git archive) and Catch2 built and installed into prefix/ (kept: a second run, from any
# checkout, reuses it). Then the memx checkout this script is in (not another one) is
# configured with -DCMAKE_PREFIX_PATH=prefix in $BUILD (default build-catch2 in that
# checkout, ignored by git)/<version>/, the targets of the tests built and every Catch2
# test of memx run, `ctest -R 'catch2|^consumer\.cxx11$'` (catch2.*, patterns.catch2*, and
# the Catch2 tests of tests/sites, ignore, numbers and controls; log.txt and ctest.txt there).
# The last lines are one per version: "catch2-versions: v3.7.1 (3.7.1): 116/116 tests passed".
# Exit status 0 when every version passed. JOBS (default 2) is the build's parallelism;
# CMAKE_*_COMPILER_LAUNCHER (ccache) are honoured.
set -euo pipefail

if [ $# -lt 1 ]; then
  sed -n '6,22p' "$0" >&2
  exit 2
fi
src=$1
shift
if ! git --git-dir="$src" rev-parse --git-dir >/dev/null 2>&1; then
  if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    src=$(git -C "$src" rev-parse --absolute-git-dir)
  else
    echo "catch2-versions: $src is not a git directory or clone of Catch2" >&2
    exit 2
  fi
fi
root=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-/tmp/memx-catch2-versions}
builds=${BUILD:-$root/build-catch2}
jobs=${JOBS:-2}
regex='catch2|^consumer\.cxx11$'

versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  newest=$(git --git-dir="$src" tag --list 'v3.*' --sort=-version:refname | grep -v preview | head -n1)
  versions=(v3.4.0 v3.7.1)
  case " ${versions[*]} " in *" $newest "*) ;; *) versions+=("$newest") ;; esac
fi

summary=()
failed=0
for v in "${versions[@]}"; do
  dir=$work/$v
  mdir=$builds/$v
  mkdir -p "$dir" "$mdir"
  log=$mdir/log.txt
  : >"$log"
  if [ ! -f "$dir/prefix/.memx-built" ]; then
    echo "catch2-versions: $v: building Catch2 into $dir/prefix (log: $log)"
    if ! git --git-dir="$src" rev-parse --verify -q "$v^{commit}" >/dev/null; then
      echo "catch2-versions: $v: no such tag or commit in $src" >&2
      summary+=("catch2-versions: $v: not in the source")
      failed=1
      continue
    fi
    rm -rf "$dir/src" "$dir/catch2-build" "$dir/prefix"
    mkdir -p "$dir/src"
    git --git-dir="$src" archive --format=tar "$v" | tar -x -C "$dir/src"
    cmake -S "$dir/src" -B "$dir/catch2-build" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$dir/prefix" -DBUILD_TESTING=OFF -DCATCH_INSTALL_DOCS=OFF \
      -DCATCH_INSTALL_EXTRAS=ON >>"$log" 2>&1
    cmake --build "$dir/catch2-build" -j"$jobs" >>"$log" 2>&1
    cmake --install "$dir/catch2-build" >>"$log" 2>&1
    touch "$dir/prefix/.memx-built"
  fi
  found=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$dir"/prefix/lib*/cmake/Catch2/Catch2ConfigVersion.cmake)

  echo "catch2-versions: $v ($found): configuring and building memx's Catch2 tests of $root in $mdir/memx"
  rm -rf "$mdir/memx"
  if ! cmake -S "$root" -B "$mdir/memx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_PREFIX_PATH="$dir/prefix" -DMEMX_BUILD_EXAMPLES=OFF -DMEMX_BUILD_BENCH=OFF \
      >>"$log" 2>&1; then
    summary+=("catch2-versions: $v ($found): memx does not configure (see $log)")
    failed=1
    continue
  fi
  if ! grep -q "memx: Catch2 $found " "$log"; then
    summary+=("catch2-versions: $v ($found): memx did not pick up this Catch2 (see $log)")
    failed=1
    continue
  fi
  # The executables of the selected tests, and what consumer.cxx11 installs (every library
  # memx exports: the ones no test executable links, memx::watch, are named here).
  targets=$(cmake --build "$mdir/memx" --target help |
    sed -n 's/^\.\.\. \(memx_catch2_[a-z0-9_]*\|memx_[a-z]*_catch2[a-z0-9_]*\|memx_gtest_main\|memx_tool\|memx_watch\|memx_watch_analysis\|memx_count_malloc\)$/\1/p')
  # shellcheck disable=SC2086
  if ! cmake --build "$mdir/memx" -j"$jobs" --target $targets >>"$log" 2>&1; then
    summary+=("catch2-versions: $v ($found): memx's Catch2 tests do not build (see $log)")
    failed=1
    continue
  fi
  set +e
  ctest --test-dir "$mdir/memx" -R "$regex" --output-on-failure -j"$jobs" >"$mdir/ctest.txt" 2>&1
  set -e
  result=$(grep -E '^[0-9]+% tests passed' "$mdir/ctest.txt" || echo "no test result")
  passed=$(sed -n 's/^[0-9]*% tests passed, \([0-9]*\) tests failed out of \([0-9]*\)$/\1 \2/p' "$mdir/ctest.txt")
  if [ -n "$passed" ]; then
    set -- $passed
    result="$(($2 - $1))/$2 tests passed"
    [ "$1" -eq 0 ] || failed=1
    fails=$(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (.*/\1/p' "$mdir/ctest.txt" | tr '\n' ' ')
    [ -z "$fails" ] || result="$result; failed: $fails"
  else
    failed=1
  fi
  summary+=("catch2-versions: $v ($found): $result (ctest output: $mdir/ctest.txt)")
done
printf '%s\n' "${summary[@]}"
exit $failed
