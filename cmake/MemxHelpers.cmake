# memx_add_library(<name> <STATIC|SHARED|INTERFACE|...> sources...)
# Creates memx_<name> with the namespaced alias memx::<name>, the project's
# include directories and the export name <name>. Every memx target is made here so
# that aliases, include paths and install exports cannot drift. The target belongs to the
# package component named by MEMX_COMPONENT in the calling directory (core when unset:
# gtest_plugin/ sets gtest, catch2_plugin/ catch2), whose export set installs it.
#
# memx's sources are compiled as C++17 (PRIVATE): linking a memx target does not change
# the consumer's C++ standard. A target whose public headers need C++17 says so itself
# with target_compile_features(... PUBLIC cxx_std_17) (memx::memx, memx::analysis,
# memx::session); the test plugins' headers (memx/gtest.hpp, memx/catch2.hpp) compile as
# C++11, and the plugins link memx::session as $<LINK_ONLY:...>.
function(memx_add_library name kind)
  set(target memx_${name})
  add_library(${target} ${kind} ${ARGN})
  add_library(memx::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  if(kind STREQUAL "INTERFACE")
    target_include_directories(${target} INTERFACE
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  else()
    target_compile_features(${target} PRIVATE cxx_std_17)
    target_include_directories(${target}
      PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
      PRIVATE ${PROJECT_SOURCE_DIR}/src)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_compile_options(${target} PRIVATE ${MEMX_WARNING_FLAGS})
  endif()
  if(MEMX_COMPONENT)
    set(component ${MEMX_COMPONENT})
  else()
    set(component core)
  endif()
  set_property(GLOBAL APPEND PROPERTY MEMX_EXPORTED_TARGETS_${component} ${target})
endfunction()
