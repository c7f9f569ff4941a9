#pragma once
// -o DIR for --format dot: a file per trace in DIR (see dot_sink.hpp).

#include <string>

#include "sinks/dot_sink.hpp"

namespace cotrace {

// Whether -o PATH asks for a directory: PATH ends with '/' or is one.
bool names_a_directory(const std::string& path);

// Opens DIR/NAME for each graph. Checks DIR first: made when missing (its
// parent must exist), and proven writable by creating a file there; throws
// cotrace::error with exit_usage naming the fix when it is not usable.
dot_sink::graph_opener dot_directory_opener(const std::string& dir);

}  // namespace cotrace
