# The consumer.helper.* tests: the installed package as a new project adopts it.
#
# cmake -DSTEP=install -DMEMX_BINARY_DIR=... -DWORK_DIR=... -P run_helper.cmake
#   installs memx into WORK_DIR/helper-install (the fixture of the other steps).
# cmake -DSTEP=ctest_helper|gtest_only|annotations|pkg_config -DWORK_DIR=... -DCTEST=ctest [-DPREFIXES=a|b]
#       -P run_helper.cmake
#   ctest_helper: a project using memx_discover_tests and memx_catch_discover_tests, run with
#     CTest four times into the same report directory: without a baseline (the gate says how
#     to write one), after memx_update_baseline (passes; as `ctest -T Test`, whose Test.xml
#     holds each test's memx.* measurements), with the reset fixture left out so
#     that the earlier run's reports stay (merge keeps each test's newest run and says what it
#     dropped), and with a planted regression (the gate fails, naming the test).
#   gtest_only: COMPONENTS gtest, with a Catch2 package on the path that fails when loaded.
#   annotations: COMPONENTS annotations: the budget macros compile to nothing, no memx symbol.
#   pkg_config: `pkg-config --cflags --libs memx` builds and links a program that measures.
cmake_minimum_required(VERSION 3.25)
set(prefix ${WORK_DIR}/helper-install)
set(here ${CMAKE_CURRENT_LIST_DIR})

# run(<expect: 0|fail> <output variable> <command...>): the output (stdout and stderr) is
# printed and returned; the exit code must be as expected.
function(run expect out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(expect STREQUAL "0" AND NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  elseif(expect STREQUAL "fail" AND rc EQUAL 0)
    message(FATAL_ERROR "succeeded, expected a failure: ${ARGN}")
  endif()
  set(${out_var} "${out}${err}" PARENT_SCOPE)
endfunction()

# expect(<text> <what> <regex>...): each regex matches the text.
function(expect text what)
  foreach(re IN LISTS ARGN)
    if(NOT text MATCHES "${re}")
      message(FATAL_ERROR "${what}: the output does not match \"${re}\"")
    endif()
  endforeach()
endfunction()

if(PREFIXES)  # where the memx build found its dependencies (a Catch2 3 in a prefix)
  string(REPLACE "|" ";" dependency_prefixes "${PREFIXES}")
else()
  set(dependency_prefixes "")
endif()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE ${prefix})
  run(0 out ${CMAKE_COMMAND} --install ${MEMX_BINARY_DIR} --prefix ${prefix})
  return()
endif()

set(build ${WORK_DIR}/helper-${STEP})
file(REMOVE_RECURSE ${build})
# Nothing of the caller's environment may change the verdicts.
foreach(var MEMX_REPORT MEMX_BUDGET MEMX_FAIL_ON_LEAK MEMX_REPEAT GTEST_REPEAT MEMX_QUIET HELPER_GROW)
  unset(ENV{${var}})
endforeach()

if(STEP STREQUAL "ctest_helper")
  set(baseline ${build}/memx-baseline.json)
  string(REPLACE ";" "\\;" path "${prefix};${dependency_prefixes}")
  run(0 out ${CMAKE_COMMAND} -S ${here}/ctest_helper -B ${build} "-DCMAKE_PREFIX_PATH=${path}"
      -DMEMX_TEST_BASELINE=${baseline})
  run(0 out ${CMAKE_COMMAND} --build ${build} -j2 --target consumer)
  set(ctest ${CTEST} --test-dir ${build} -V)

  # 1. No baseline yet: the tests pass, the reports are merged, the gate says how to write it.
  run(fail out ${ctest})
  expect("${out}" "run 1" "memx: .* is empty, ready for this run's reports"
         "memx merge: wrote .*memx-report.json: 4 tests from 4 reports"
         "memx: no baseline at .*memx-baseline.json: after a run you trust, .*--target memx_update_baseline"
         "Helper.Grows \\.+ +Passed" "catch2.strings \\.+ +Passed" "memx.gate \\.+\\*\\*\\*Failed")
  file(GLOB reports ${build}/memx-reports/*.json)
  list(LENGTH reports n)
  if(NOT n EQUAL 4)
    message(FATAL_ERROR "run 1: ${n} reports in ${build}/memx-reports, expected 4 (one per test process)")
  endif()
  # Every test ran its repetitions: 5 for GoogleTest (the default), 3 for Catch2 (REPEAT 3).
  file(READ ${build}/memx-report.json merged)
  string(JSON ntests LENGTH "${merged}" tests)
  math(EXPR last "${ntests} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${merged}" tests ${i} name)
    string(JSON runs LENGTH "${merged}" tests ${i} runs)
    set(want 5)
    if(name STREQUAL "strings")
      set(want 3)
    endif()
    if(NOT runs EQUAL want)
      message(FATAL_ERROR "run 1: ${name} has ${runs} runs, expected ${want}")
    endif()
  endforeach()

  # 2. The baseline written from that run; the same tests again pass the gate. Run as a
  #    dashboard's Test step (-T Test): each test's figures are measurements in Test.xml, as
  #    CDash reads them (the helpers set MEMX_CTEST_MEASUREMENTS=1).
  run(0 out ${CMAKE_COMMAND} --build ${build} --target memx_update_baseline)
  if(NOT EXISTS ${baseline})
    message(FATAL_ERROR "memx_update_baseline wrote no ${baseline}")
  endif()
  run(0 out ${ctest} -T Test)
  expect("${out}" "run 2" "memx merge: wrote .*: 4 tests from 4 reports" "memx gate: passed")
  file(GLOB test_xml ${build}/Testing/*/Test.xml)
  if(NOT test_xml)
    message(FATAL_ERROR "run 2: ctest -T Test wrote no ${build}/Testing/*/Test.xml")
  endif()
  file(READ "${test_xml}" xml)
  foreach(test Helper.Grows catch2.strings)
    string(FIND "${xml}" "<Name>${test}</Name>" at)
    if(at LESS 0)
      message(FATAL_ERROR "run 2: ${test_xml} has no test ${test}")
    endif()
    string(SUBSTRING "${xml}" ${at} -1 block)
    string(FIND "${block}" "</Test>" end)
    string(SUBSTRING "${block}" 0 ${end} block)
    foreach(figure peak_bytes net_bytes net_blocks allocs)
      if(NOT block MATCHES "<NamedMeasurement type=\"numeric/double\" name=\"memx[.]${figure}\">[ \t\r\n]*<Value>-?[0-9]+</Value>")
        message(FATAL_ERROR "run 2: ${test_xml}: ${test} has no measurement memx.${figure}:\n${block}")
      endif()
    endforeach()
  endforeach()

  # 3. The reset fixture left out (-E, and -FS so that CTest does not add it back): run 2's
  #    reports stay beside run 3's. Each test's newest run is merged, the older ones are named
  #    as dropped, the gate passes.
  run(0 out ${ctest} -E "^memx[.]reset$" -FS memx_reports)
  expect("${out}" "run 3" "memx merge: stale: .*Helper.Grows.*run 2|memx merge: stale: .*Helper.Grows"
         "memx merge: wrote .*: 4 tests from 8 reports" "memx gate: passed")

  # 4. A planted regression: the gate fails and names the test and its figures.
  set(ENV{HELPER_GROW} 1)
  run(fail out ${ctest})
  unset(ENV{HELPER_GROW})
  expect("${out}" "run 4" "memx gate: .*REGRESSION.* Helper.Grows" "memx gate: .*FAILED"
         "memx: the gate against .*memx-baseline.json failed" "memx.gate \\.+\\*\\*\\*Failed")
  if(out MATCHES "REGRESSION[^\n]*Helper.(Small|Steady)")
    message(FATAL_ERROR "run 4: a test without the planted regression was named")
  endif()
  message("consumer.helper.ctest_helper: as expected")

elseif(STEP STREQUAL "gtest_only")
  string(REPLACE ";" "\\;" path "${here}/gtest_only/fake-catch2;${prefix};${dependency_prefixes}")
  run(0 out ${CMAKE_COMMAND} -S ${here}/gtest_only -B ${build} "-DCMAKE_PREFIX_PATH=${path}")
  run(0 out ${CMAKE_COMMAND} --build ${build} -j2 --target consumer)
  run(0 out ${CTEST} --test-dir ${build} -V)
  expect("${out}" "gtest_only" "memx merge: wrote .*: 3 tests from 3 reports"
         "no BASELINE given, so no gate")
  message("consumer.helper.gtest_only: as expected")

elseif(STEP STREQUAL "annotations")
  run(0 out ${CMAKE_COMMAND} -S ${here}/annotations -B ${build} "-DCMAKE_PREFIX_PATH=${prefix}")
  run(0 out ${CMAKE_COMMAND} --build ${build} -j2 --target consumer)
  run(0 out ${build}/annotated)
  expect("${out}" "annotations" "\\[  PASSED  \\] 2 tests")
  find_program(NM nm REQUIRED)
  run(0 symbols ${NM} -C ${build}/annotated)
  if(symbols MATCHES "memx")
    message(FATAL_ERROR "annotations: the binary has memx symbols")
  endif()
  message("consumer.helper.annotations: as expected")

elseif(STEP STREQUAL "pkg_config")
  find_program(PKG_CONFIG pkg-config REQUIRED)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
  file(GLOB pc_dirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
  string(REPLACE ";" ":" pc_path "${pc_dirs}")
  set(ENV{PKG_CONFIG_PATH} "${pc_path}")
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs memx RESULT_VARIABLE rc
                  OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs memx failed: ${err}")
  endif()
  message("pkg-config --cflags --libs memx: ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  file(MAKE_DIRECTORY ${build})
  find_program(CXX NAMES c++ g++ REQUIRED)
  run(0 out ${CXX} -std=c++17 ${here}/consumer_main.cpp ${flags} -o ${build}/consumer)
  run(0 out ${build}/consumer)
  expect("${out}" "pkg_config" "consumer: 12 allocations, net [0-9]+ bytes")
  message("consumer.helper.pkg_config: as expected")
else()
  message(FATAL_ERROR "run_helper.cmake: unknown STEP \"${STEP}\"")
endif()
