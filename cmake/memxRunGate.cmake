# The two CTest steps of memx's CTest helpers (memxTesting.cmake):
#   cmake -DMODE=reset -DDIR=<dir> -P memxRunGate.cmake
#       empties (or creates) the report directory before the tests.
#   cmake -DMODE=gate -DMEMX=<memx program> -DDIR=<dir> -DMERGED=<file> [-DBASELINE=<file>]
#         [-DGATE_ARGS=<arg>%%<arg>...] -DGROUP=<name> -DBUILD_DIR=<dir> -P memxRunGate.cmake
#       merges the directory's reports into MERGED and, with a BASELINE, gates MERGED against it.
cmake_minimum_required(VERSION 3.25)

# One line, as it is (CMake wraps the text of a FATAL_ERROR), then the step fails. The text
# is the arguments joined: no ';' in them (a list separator).
function(fail)
  string(JOIN "" text ${ARGV})
  message("${text}")
  message(FATAL_ERROR "memx: ${GROUP}.${MODE} failed")
endfunction()

if(MODE STREQUAL "reset")
  file(REMOVE_RECURSE "${DIR}")
  file(MAKE_DIRECTORY "${DIR}")
  message("memx: ${DIR} is empty, ready for this run's reports")
  return()
endif()

if(NOT MODE STREQUAL "gate")
  fail("memxRunGate.cmake: MODE must be reset or gate, not \"${MODE}\"")
endif()
file(GLOB reports "${DIR}/*.json")
if(NOT reports)
  fail("memx: no report in ${DIR}: no test of the group \"${GROUP}\" ran with "
                      "memx linked (memx::gtest, memx::gtest_main, memx::catch2 or "
                      "memx::catch2_main)")
endif()
execute_process(COMMAND "${MEMX}" merge -o "${MERGED}" "${DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("memx: the reports in ${DIR} could not be merged (memx merge exit ${rc})")
endif()
if(NOT BASELINE)
  message("memx: merged into ${MERGED}; no BASELINE given, so no gate")
  return()
endif()
if(NOT EXISTS "${BASELINE}")
  fail("memx: no baseline at ${BASELINE}: after a run you trust, "
                      "`cmake --build ${BUILD_DIR} --target ${GROUP}_update_baseline` writes it "
                      "from ${MERGED} (then commit it)")
endif()
string(REPLACE "%%" ";" GATE_ARGS "${GATE_ARGS}")
execute_process(COMMAND "${MEMX}" gate --baseline "${BASELINE}" ${GATE_ARGS} "${MERGED}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("memx: the gate against ${BASELINE} failed (memx gate exit ${rc}): after an "
                      "intended change, `cmake --build ${BUILD_DIR} --target ${GROUP}_update_baseline` "
                      "and commit the baseline")
endif()
