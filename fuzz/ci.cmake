# The fuzz targets in the main (g++) build: the fuzz tree is configured and
# built by clang as an external project (docs/decisions.md, "Fuzz targets in
# a clang tree of their own"), and each target runs briefly over its seed
# corpus as a CTest test labelled fuzz. New inputs a brief run finds go to a
# work directory in the build tree, never into fuzz/corpus.
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)

set(SOFW_FUZZ_TESTS AUTO CACHE STRING "Build the fuzz tree and run its brief tests: ON, OFF or AUTO (if clang has libFuzzer)")
set(SOFW_FUZZ_CXX clang++ CACHE STRING "The compiler of the fuzz tree")
set(SOFW_FUZZ_BINARY_DIR ${PROJECT_SOURCE_DIR}/build/fuzz CACHE PATH "The fuzz tree (scripts/fuzz.sh uses it too)")
set(SOFW_FUZZ_CI_SECONDS 8 CACHE STRING "Seconds of each target's brief run")

set(sofw_fuzz_ok OFF)
if(NOT SOFW_FUZZ_TESTS STREQUAL "OFF")
  # Can this clang link a libFuzzer target with the sanitizers? (Debian:
  # clang and libclang-rt-14-dev.)
  set(probe_dir ${CMAKE_BINARY_DIR}/fuzz-probe)
  file(MAKE_DIRECTORY ${probe_dir})
  file(WRITE ${probe_dir}/probe.cpp
       "#include <cstddef>\n#include <cstdint>\nextern \"C\" int LLVMFuzzerTestOneInput(const uint8_t *, size_t) { return 0; }\n")
  execute_process(COMMAND ${SOFW_FUZZ_CXX} -fsanitize=fuzzer,address,undefined probe.cpp -o probe
                  WORKING_DIRECTORY ${probe_dir} RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_QUIET)
  if(probe_rc EQUAL 0)
    set(sofw_fuzz_ok ON)
  elseif(SOFW_FUZZ_TESTS STREQUAL "ON")
    message(FATAL_ERROR "SOFW_FUZZ_TESTS=ON but ${SOFW_FUZZ_CXX} cannot link -fsanitize=fuzzer (scripts/setup.sh installs clang and libclang-rt-14-dev)")
  else()
    message(STATUS "fuzz tests off: ${SOFW_FUZZ_CXX} cannot link -fsanitize=fuzzer")
  endif()
endif()

if(sofw_fuzz_ok)
  include(ExternalProject)
  string(REGEX REPLACE "\\+\\+$" "" sofw_fuzz_cc "${SOFW_FUZZ_CXX}")
  ExternalProject_Add(sofw_fuzz
    SOURCE_DIR ${PROJECT_SOURCE_DIR}
    BINARY_DIR ${SOFW_FUZZ_BINARY_DIR}
    CMAKE_ARGS -DSOFW_FUZZ=ON -DCMAKE_CXX_COMPILER=${SOFW_FUZZ_CXX} -DCMAKE_C_COMPILER=${sofw_fuzz_cc}
               -DCMAKE_BUILD_TYPE=RelWithDebInfo
    BUILD_ALWAYS ON  # its sources are ours: let its own make decide what is stale
    INSTALL_COMMAND ""
    STEP_TARGETS build)

  set(work ${CMAKE_BINARY_DIR}/fuzz-work)
  foreach(t IN LISTS SOFW_FUZZ_TARGETS)
    file(MAKE_DIRECTORY ${work}/${t} ${work}/artifacts)
    set(args -max_total_time=${SOFW_FUZZ_CI_SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
             -artifact_prefix=${work}/artifacts/${t}-)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/dict/${t}.dict)
      list(APPEND args -dict=${CMAKE_CURRENT_LIST_DIR}/dict/${t}.dict)
    endif()
    # The work directory first: libFuzzer writes what it finds into the
    # first directory only; the seeds are read, every one of them, first.
    add_test(NAME fuzz_${t}
             COMMAND ${SOFW_FUZZ_BINARY_DIR}/fuzz/${t}_fuzz ${args} ${work}/${t} ${CMAKE_CURRENT_LIST_DIR}/corpus/${t})
    # One fuzzer at a time (two shared cores; the relay target binds ports).
    set_tests_properties(fuzz_${t} PROPERTIES LABELS fuzz RESOURCE_LOCK sofw_fuzz TIMEOUT 120)
  endforeach()
endif()
