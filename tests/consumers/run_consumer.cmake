# cmake -DKIND=find_package|add_subdirectory -DMEMX_SOURCE_DIR=... -DMEMX_BINARY_DIR=...
#       -DWORK_DIR=... -P run_consumer.cmake
# Builds a consumer project against memx and runs it. VARIANT names a second build of the same
# consumer configured with CONSUMER_ARGS (a ;-list of -D options).
cmake_minimum_required(VERSION 3.25)
set(consumer_src ${CMAKE_CURRENT_LIST_DIR}/${KIND})
set(build ${WORK_DIR}/${KIND}${VARIANT}-build)
file(REMOVE_RECURSE ${build})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${err}")
  endif()
endfunction()

if(KIND STREQUAL "find_package")
  set(prefix ${WORK_DIR}/install)
  file(REMOVE_RECURSE ${prefix})
  run(${CMAKE_COMMAND} --install ${MEMX_BINARY_DIR} --prefix ${prefix})
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${build} -DCMAKE_PREFIX_PATH=${prefix})
elseif(KIND STREQUAL "gtest_from_source")
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${build} -DMEMX_SOURCE_DIR=${MEMX_SOURCE_DIR}
      -DGTEST_SOURCE_DIR=${GTEST_SOURCE_DIR} ${CONSUMER_ARGS})
else()
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${build} -DMEMX_SOURCE_DIR=${MEMX_SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} --build ${build} -j2 --target consumer)  # only what the consumer needs
if(KIND STREQUAL "gtest_from_source")
  # One test is over its budget: the binary must fail, and say why.
  execute_process(COMMAND ${build}/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "the over-budget test did not fail the binary")
  endif()
else()
  run(${build}/consumer)
endif()
