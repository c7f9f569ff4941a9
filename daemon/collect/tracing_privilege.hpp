#pragma once
// What tracing needs from the kernel and from the daemon's own credentials,
// checked before anything reads the target: a target the daemon may not read
// would otherwise fail first, with a message about the target instead of the
// missing privilege.

namespace cotrace {

// Throws cotrace::error naming what is missing: BTF, uprobes, or the
// capabilities to load BPF programs and read other processes.
void check_tracing_privilege();

// CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) in the effective set.
bool has_bpf_capabilities();

}  // namespace cotrace
