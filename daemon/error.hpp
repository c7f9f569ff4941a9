#pragma once
// Errors the user can act on: one line that names the fix, and an exit status.

#include <stdexcept>
#include <string>

namespace cotrace {

enum exit_status : int { exit_ok = 0, exit_runtime = 1, exit_usage = 2 };

class error : public std::runtime_error {
public:
    explicit error(const std::string& message, int status = exit_runtime)
        : std::runtime_error(message), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

}  // namespace cotrace
