#pragma once
// The subcommands behind the CLI: each returns the process exit status or
// throws cotrace::error.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/session.hpp"

namespace cotrace {

int attach_command(std::uint32_t pid, const session_options& options);
// Several processes in one session (cli/fleet_session.hpp).
int attach_command(const std::vector<std::uint32_t>& pids, const session_options& options);
// Every process running `path`, and every one started later.
int attach_binary_command(const std::string& path, const session_options& options);
int run_command(const std::vector<std::string>& argv, const session_options& options);
int probes_command(std::uint32_t pid, const std::string& path);
// Every coroutine suspended in pid now, as an await tree per request; format "text" or "json".
// With interval_ns: two scans that far apart, and who waited at the same point in both.
int stacks_command(std::uint32_t pid, const std::string& format, std::optional<std::uint64_t> interval_ns = {});

}  // namespace cotrace
