#pragma once
// The workloads driven one byte at a time through a FIFO the test holds
// open for writing: `NAME FIFO` on the command line.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace workload {

// The FIFO named by argv[1], opened for reading; exits 2 with one line on
// stderr when there is none or it cannot be opened.
inline int open_fifo(int argc, char** argv, const char* name) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s FIFO\n", name);
        std::exit(2);
    }
    const int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        std::fprintf(stderr, "%s: cannot open %s: %s\n", name, argv[1], std::strerror(errno));
        std::exit(2);
    }
    return fd;
}

// Blocks until a byte arrives (true) or the writer closes the FIFO (false).
inline bool read_byte(int fd) {
    char byte = 0;
    ssize_t n;
    do n = read(fd, &byte, 1);
    while (n < 0 && errno == EINTR);
    return n == 1;
}

}  // namespace workload
