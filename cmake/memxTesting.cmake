# memx's CTest helpers: the recommended set-up of a project's memory tests (README,
# "Adopting memx"; docs/ctest.md).
#
#   memx_discover_tests(<target> [REPORTS <name>] [REPORT_DIR <dir>] [REPEAT <n>]
#                       [BASELINE <file>] [GATE_ARGS <arg>...]
#                       [<gtest_discover_tests options>...])
#   memx_catch_discover_tests(<target> <the same> [<catch_discover_tests options>...])
#
# Each wraps the framework's own discovery (CMake's GoogleTest module; Catch2's Catch module,
# from Catch2's package) and adds what memx needs:
#   - every discovered test runs REPEAT times in its process (default 5: the first is the
#     warm-up, the rest judge leaks), through GTEST_REPEAT or MEMX_REPEAT;
#   - every test process writes its report into one directory (MEMX_REPORT=<dir>/) and prints
#     its figures as CTest measurements (MEMX_CTEST_MEASUREMENTS=1: CDash shows them);
#   - <name>.reset (a CTest fixture setup) empties that directory before the tests, so that
#     no report of an earlier run is merged with this one's;
#   - <name>.gate (the fixture's cleanup, run after the tests even when some fail) merges the
#     reports into <name>-report.json (`memx merge`) and, with BASELINE, runs `memx gate`
#     against it (GATE_ARGS: tolerances, --allow, --markdown ...);
#   - with BASELINE, the build target <name>_update_baseline writes the last merged report
#     as the new baseline (`memx baseline update`), to commit after an intended change.
# REPORTS names the group (default "memx"): the targets of one group share the directory
# (default <build>/<name>-reports), the fixture and the gate, which the group's first call
# defines (a later call may leave REPORT_DIR, BASELINE and GATE_ARGS out). The discovered tests get the properties FIXTURES_REQUIRED and
# ENVIRONMENT_MODIFICATION (a PROPERTIES option of the same keys is added to them) and are
# listed in TEST_LIST (default <target>_memx_tests).
include_guard(GLOBAL)

# The memx program the gate runs: the memx::memx_cli target (this build's, or the installed
# package's), else `memx` on the PATH.
function(_memx_program out)
  if(TARGET memx::memx_cli)
    set(${out} "$<TARGET_FILE:memx::memx_cli>" PARENT_SCOPE)
    return()
  endif()
  find_program(MEMX_PROGRAM memx)
  if(NOT MEMX_PROGRAM)
    message(FATAL_ERROR "memx: the memx program (memx::memx_cli) is needed to merge and gate "
                        "the reports: it is in memx's package when memx was built with CLI11 "
                        "(find_package(memx CONFIG REQUIRED COMPONENTS cli ...)), or on the PATH")
  endif()
  set(${out} "${MEMX_PROGRAM}" PARENT_SCOPE)
endfunction()

# The group's directory, fixture and gate; its first call defines them. A later call may
# leave REPORT_DIR, BASELINE and GATE_ARGS out, or give the same. Sets <dir_var> to the
# group's report directory.
function(_memx_reports_group group dir baseline gate_args dir_var)
  get_property(defined GLOBAL PROPERTY _MEMX_GROUP_${group}_DEFINED SET)
  if(defined)
    foreach(what dir baseline gate_args)
      get_property(first GLOBAL PROPERTY _MEMX_GROUP_${group}_${what})
      if(NOT "${${what}}" STREQUAL "" AND NOT "${${what}}" STREQUAL "${first}")
        string(TOUPPER "${what}" option)
        string(REPLACE "DIR" "REPORT_DIR" option "${option}")
        message(FATAL_ERROR "memx: the report group \"${group}\" has ${option} \"${first}\"; this "
                            "call gives \"${${what}}\": give it once, or name another group with REPORTS")
      endif()
    endforeach()
    get_property(dir GLOBAL PROPERTY _MEMX_GROUP_${group}_dir)
    set(${dir_var} "${dir}" PARENT_SCOPE)
    return()
  endif()
  if(NOT dir)
    set(dir ${CMAKE_BINARY_DIR}/${group}-reports)
  endif()
  set_property(GLOBAL PROPERTY _MEMX_GROUP_${group}_DEFINED TRUE)
  foreach(what dir baseline gate_args)
    set_property(GLOBAL PROPERTY _MEMX_GROUP_${group}_${what} "${${what}}")
  endforeach()
  set(${dir_var} "${dir}" PARENT_SCOPE)
  _memx_program(memx)
  set(script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/memxRunGate.cmake)
  set(merged ${CMAKE_BINARY_DIR}/${group}-report.json)
  add_test(NAME ${group}.reset COMMAND ${CMAKE_COMMAND} -DMODE=reset "-DDIR=${dir}" -P ${script})
  string(REPLACE ";" "%%" gate_list "${gate_args}")
  add_test(NAME ${group}.gate
    COMMAND ${CMAKE_COMMAND} -DMODE=gate "-DMEMX=${memx}" "-DDIR=${dir}" "-DMERGED=${merged}"
            "-DBASELINE=${baseline}" "-DGATE_ARGS=${gate_list}" "-DGROUP=${group}"
            "-DBUILD_DIR=${CMAKE_BINARY_DIR}" -P ${script})
  set_tests_properties(${group}.reset PROPERTIES FIXTURES_SETUP ${group}_reports LABELS memx)
  set_tests_properties(${group}.gate PROPERTIES FIXTURES_CLEANUP ${group}_reports LABELS memx)
  if(baseline)
    add_custom_target(${group}_update_baseline
      COMMAND ${memx} baseline update --baseline ${baseline} ${merged}
      COMMENT "memx: writing ${baseline} from the last run's ${merged}"
      VERBATIM)
  endif()
endfunction()

# The part both helpers share: parses memx's options out of ARGN, defines the group, and
# returns the framework's own options (with TEST_LIST set) and the settings of the tests.
macro(_memx_discover_common function target)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "${function}: no target \"${target}\"")
  endif()
  cmake_parse_arguments(_memx "" "REPORTS;REPORT_DIR;REPEAT;BASELINE;TEST_LIST"
                        "GATE_ARGS;PROPERTIES" ${ARGN})
  if(NOT _memx_REPORTS)
    set(_memx_REPORTS memx)
  endif()
  if(NOT _memx_REPORTS MATCHES "^[A-Za-z0-9_.-]+$")
    message(FATAL_ERROR "${function}: REPORTS \"${_memx_REPORTS}\": a name of letters, digits, '_', '.' or '-'")
  endif()
  if(_memx_REPORT_DIR)
    get_filename_component(_memx_REPORT_DIR "${_memx_REPORT_DIR}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  if(NOT DEFINED _memx_REPEAT)
    set(_memx_REPEAT 5)
  endif()
  if(NOT _memx_REPEAT MATCHES "^[1-9][0-9]*$")
    message(FATAL_ERROR "${function}: REPEAT \"${_memx_REPEAT}\": a number of repetitions, 1 or more "
                        "(2 or more for leak verdicts)")
  endif()
  if(_memx_BASELINE)
    get_filename_component(_memx_BASELINE "${_memx_BASELINE}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  if(NOT _memx_TEST_LIST)
    set(_memx_TEST_LIST ${target}_memx_tests)
  endif()
  _memx_reports_group(${_memx_REPORTS} "${_memx_REPORT_DIR}" "${_memx_BASELINE}" "${_memx_GATE_ARGS}"
                      _memx_REPORT_DIR)
  # The user's FIXTURES_REQUIRED and ENVIRONMENT_MODIFICATION are added to memx's; the other
  # properties go to the framework's discovery as they are.
  set(_memx_fixtures ${_memx_REPORTS}_reports)
  # MEMX_CTEST_MEASUREMENTS: each test's figures as <CTestMeasurement> tags, which CTest puts
  # in Test.xml for CDash (a PROPERTIES ENVIRONMENT_MODIFICATION MEMX_CTEST_MEASUREMENTS=set:0,
  # added after memx's, turns it off).
  set(_memx_env "MEMX_REPORT=set:${_memx_REPORT_DIR}/" "MEMX_CTEST_MEASUREMENTS=set:1")
  set(_memx_properties "")
  list(LENGTH _memx_PROPERTIES _memx_n)
  set(_memx_i 0)
  while(_memx_i LESS _memx_n)
    list(GET _memx_PROPERTIES ${_memx_i} _memx_key)
    math(EXPR _memx_i "${_memx_i} + 1")
    set(_memx_value "")
    if(_memx_i LESS _memx_n)
      list(GET _memx_PROPERTIES ${_memx_i} _memx_value)
      math(EXPR _memx_i "${_memx_i} + 1")
    endif()
    if(_memx_key STREQUAL "FIXTURES_REQUIRED")
      list(APPEND _memx_fixtures "${_memx_value}")
    elseif(_memx_key STREQUAL "ENVIRONMENT_MODIFICATION")
      list(APPEND _memx_env "${_memx_value}")
    else()
      list(APPEND _memx_properties "${_memx_key}" "${_memx_value}")
    endif()
  endwhile()
  set(_memx_forward ${_memx_UNPARSED_ARGUMENTS} TEST_LIST ${_memx_TEST_LIST})
  if(_memx_properties)
    list(APPEND _memx_forward PROPERTIES ${_memx_properties})
  endif()
endmacro()

# After the framework's discovery has defined the tests (a CTest include file run after its
# own): memx's properties on every test of the list. Written here rather than given as
# PROPERTIES, which cannot carry a list value through the discovery scripts.
function(_memx_after_discovery target test_list fixtures env)
  set(file ${CMAKE_CURRENT_BINARY_DIR}/${target}_memx_properties.cmake)
  file(WRITE ${file}
    "# Written by memx_discover_tests / memx_catch_discover_tests for ${target}.\n"
    "if(${test_list})\n"
    "  set_tests_properties(\${${test_list}} PROPERTIES\n"
    "    FIXTURES_REQUIRED [==[${fixtures}]==]\n"
    "    ENVIRONMENT_MODIFICATION [==[${env}]==])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${file})
endfunction()

# GoogleTest: gtest_discover_tests with memx's set-up (see the top of this file).
function(memx_discover_tests target)
  _memx_discover_common(memx_discover_tests ${target} ${ARGN})
  include(GoogleTest)
  gtest_discover_tests(${target} ${_memx_forward})
  _memx_after_discovery(${target} ${_memx_TEST_LIST} "${_memx_fixtures}"
                        "${_memx_env};GTEST_REPEAT=set:${_memx_REPEAT}")
endfunction()

# Catch2: catch_discover_tests (Catch2's Catch module, found through Catch2's package) with
# memx's set-up (see the top of this file). The repetitions go through MEMX_REPEAT.
function(memx_catch_discover_tests target)
  _memx_discover_common(memx_catch_discover_tests ${target} ${ARGN})
  if(NOT COMMAND catch_discover_tests)
    if(NOT Catch2_DIR OR NOT EXISTS "${Catch2_DIR}/Catch.cmake")
      message(FATAL_ERROR "memx_catch_discover_tests: Catch2's CMake module (Catch.cmake) was not "
                          "found: find_package(memx ... COMPONENTS catch2) or find_package(Catch2) "
                          "first")
    endif()
    include(${Catch2_DIR}/Catch.cmake)
  endif()
  catch_discover_tests(${target} ${_memx_forward})
  _memx_after_discovery(${target} ${_memx_TEST_LIST} "${_memx_fixtures}"
                        "${_memx_env};MEMX_REPEAT=set:${_memx_REPEAT}")
endfunction()
