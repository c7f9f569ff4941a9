#pragma once
// Paths of the programs and sources under test, from CMake (tests/e2e/CMakeLists.txt).

namespace e2e::paths {

inline constexpr const char* cotrace = COTRACE_E2E_COTRACE;                     // build/bin/cotrace
inline constexpr const char* pipeline = COTRACE_E2E_PIPELINE;                   // build/bin/pipeline
inline constexpr const char* pipeline_untraced = COTRACE_E2E_PIPELINE_UNTRACED;  // probes compiled out
inline constexpr const char* pipeline_source = COTRACE_E2E_PIPELINE_SOURCE;     // examples/pipeline.cpp
inline constexpr const char* when_all_source = COTRACE_E2E_WHEN_ALL_SOURCE;     // include/cotrace/when_all.hpp
inline constexpr const char* readelf = COTRACE_E2E_READELF;
inline constexpr const char* bpftrace = COTRACE_E2E_BPFTRACE;
inline constexpr const char* setpriv = COTRACE_E2E_SETPRIV;

}  // namespace e2e::paths
