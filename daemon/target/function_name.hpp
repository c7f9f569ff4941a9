#pragma once
// Readable names for the functions behind coroutine frames.

#include <string>

namespace cotrace {

// From a symbol-table name to what a user calls the function:
//   GCC  _Z4leafPZ4leafiE14_Z4leafi.Frame.actor  -> leaf(int)
//   Clang _Z4leafi.resume                        -> leaf(int)
//   template return types and [clone ...] suffixes removed; cotrace's own
//   coroutines (when_all) reduced to their bare name.
std::string readable_function_name(const std::string& symbol);

// __cxa_demangle, or the input when it is not a mangled name.
std::string demangle(const std::string& mangled);

}  // namespace cotrace
