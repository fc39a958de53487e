# The tools.* tests: a user's GoogleTest binary (tools/tools_probe.cpp) linking the
# *installed* memx, run with sanitizers, Valgrind and heaptrack.
#
# cmake -DSTEP=build -DMEMX_BINARY_DIR=... -DWORK_DIR=... -P run_tools.cmake
#   Installs memx into WORK_DIR/tools-install and builds the binary three times:
#   WORK_DIR/tools-asan (-fsanitize=address,undefined), tools-tsan (-fsanitize=thread) and
#   tools-plain (no tool: for Valgrind and heaptrack).
# cmake -DSTEP=run -DWORK_DIR=... -DFLAVOUR=asan|tsan|plain [-DWRAPPER=valgrind%%...]
#       [-DPROGRAM=tools_probe|tools_probe_malloc]
#       [-DARGS=--gtest_filter=...] -DEXPECT_RC=zero|nonzero [-DMATCH=re%%...] [-DNOMATCH=re%%...]
#       [-DREPORT=exact|present|unmeasured [-DPEAK=bytes] [-DTOOL=name]] -P run_tools.cmake
#   Runs it (under WRAPPER), checks its exit code and output (stdout and stderr together)
#   and, with REPORT, the memx report it wrote: "exact" wants Clean.OneBlock's only run to
#   be one block of PEAK bytes, allocated and freed; "present" wants it to have figures
#   that include that block (a tool's own allocations may add to them); "unmeasured" wants the report marked
#   "measured": false with no figures at all; both want the report's "tool" to be TOOL
#   (absent when TOOL is empty).
cmake_minimum_required(VERSION 3.25)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}${err}")
  endif()
endfunction()

if(STEP STREQUAL "build")
  set(prefix ${WORK_DIR}/tools-install)
  file(REMOVE_RECURSE ${prefix})
  run(${CMAKE_COMMAND} --install ${MEMX_BINARY_DIR} --prefix ${prefix})
  set(flags_asan "-fsanitize=address,undefined -fno-omit-frame-pointer")
  set(flags_tsan "-fsanitize=thread")
  set(flags_plain "")
  foreach(flavour asan tsan plain)
    set(build ${WORK_DIR}/tools-${flavour})
    file(REMOVE_RECURSE ${build})
    # -O1: the planted bugs stay (they go through out-of-line functions), the run is quick.
    run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/tools -B ${build}
        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Debug
        "-DCMAKE_CXX_FLAGS=-O1 -g ${flags_${flavour}}")
    run(${CMAKE_COMMAND} --build ${build} -j2)
  endforeach()
  message("tools: built the asan, tsan and plain binaries against ${prefix}")
  return()
endif()

# List arguments come separated by "%%" (a ";" does not survive add_test's command line).
foreach(list WRAPPER ARGS MATCH NOMATCH)
  string(REPLACE "%%" ";" ${list} "${${list}}")
endforeach()
set(report ${WORK_DIR}/tools-${TEST_NAME}.json)
file(REMOVE ${report})
set(ENV{MEMX_REPORT} ${report})
# Nothing of the caller's environment may change the verdicts.
foreach(var MEMX_BUDGET MEMX_COLOR MEMX_FAIL_ON_LEAK MEMX_PROPERTIES MEMX_QUIET)
  unset(ENV{${var}})
endforeach()
set(ENV{ASAN_OPTIONS} "detect_leaks=1")
set(ENV{TSAN_OPTIONS} "halt_on_error=1")
if(NOT PROGRAM)
  set(PROGRAM tools_probe)
endif()
execute_process(COMMAND ${WRAPPER} ${WORK_DIR}/tools-${FLAVOUR}/${PROGRAM} ${ARGS}
                WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(out "${out}${err}")
message("${out}")
set(problems "")
if(EXPECT_RC STREQUAL "zero" AND NOT rc EQUAL 0)
  list(APPEND problems "exit code ${rc}, expected 0")
elseif(EXPECT_RC STREQUAL "nonzero" AND rc EQUAL 0)
  list(APPEND problems "exit code 0, expected a failure")
endif()
foreach(re IN LISTS MATCH)
  if(NOT out MATCHES "${re}")
    list(APPEND problems "the output does not match \"${re}\"")
  endif()
endforeach()
foreach(re IN LISTS NOMATCH)
  if(out MATCHES "${re}")
    list(APPEND problems "the output matches \"${re}\" (it must not)")
  endif()
endforeach()

if(REPORT)
  if(NOT EXISTS ${report})
    list(APPEND problems "no report at ${report}")
  else()
    file(READ ${report} json)
    string(JSON measured ERROR_VARIABLE no_measured GET "${json}" measured)
    string(JSON ntests LENGTH "${json}" tests)
    math(EXPR last "${ntests} - 1")
    set(one_block "")
    set(runs_total 0)
    foreach(i RANGE ${last})
      string(JSON name GET "${json}" tests ${i} name)
      string(JSON nruns LENGTH "${json}" tests ${i} runs)
      math(EXPR runs_total "${runs_total} + ${nruns}")
      if(name STREQUAL "Clean.OneBlock")
        set(one_block ${i})
      endif()
    endforeach()
    string(JSON tool ERROR_VARIABLE no_tool GET "${json}" tool)
    if(NOT no_tool STREQUAL "NOTFOUND")
      set(tool "")
    endif()
    if(NOT "${tool}" STREQUAL "${TOOL}")
      list(APPEND problems "the report's tool is \"${tool}\", expected \"${TOOL}\"")
    endif()
    if(REPORT STREQUAL "unmeasured")
      if(NOT measured STREQUAL "OFF")
        list(APPEND problems "the report is not marked \"measured\": false")
      endif()
      if(NOT runs_total EQUAL 0)
        list(APPEND problems "the unmeasured report has ${runs_total} runs with figures")
      endif()
    else()
      if(no_measured STREQUAL "NOTFOUND" AND NOT measured)  # absent: measured
        list(APPEND problems "the report says \"measured\": ${measured}")
      endif()
      if(one_block STREQUAL "")
        list(APPEND problems "no Clean.OneBlock in the report")
      else()
        string(JSON nruns LENGTH "${json}" tests ${one_block} runs)
        if(NOT nruns EQUAL 1)
          list(APPEND problems "Clean.OneBlock has ${nruns} runs, expected 1")
        elseif(REPORT STREQUAL "exact")
          foreach(key_value "allocs;1" "net_bytes;0" "net_blocks;0" "peak_bytes;${PEAK}")
            list(GET key_value 0 key)
            list(GET key_value 1 want)
            string(JSON got GET "${json}" tests ${one_block} runs 0 ${key})
            if(NOT got EQUAL want)
              list(APPEND problems "Clean.OneBlock: ${key} is ${got}, expected ${want}")
            endif()
          endforeach()
        else()  # present: at least the test's own block
          string(JSON allocs GET "${json}" tests ${one_block} runs 0 allocs)
          string(JSON peak GET "${json}" tests ${one_block} runs 0 peak_bytes)
          if(allocs LESS 1 OR peak LESS PEAK)
            list(APPEND problems
                 "Clean.OneBlock: ${allocs} allocations, peak ${peak}: not its block of ${PEAK}")
          endif()
        endif()
      endif()
    endif()
  endif()
endif()

if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "tools.${TEST_NAME}:\n  ${text}")
endif()
message("tools.${TEST_NAME}: as expected")
