/*
 * The machine-wide benchmark workload: one parent and N forked children that
 * share a copy-on-write region. Each child writes its own slice of it (those
 * pages become private to the child) and leaves the rest shared with all the
 * others, so USS, PSS and RSS all differ, as they do for real pre-forking
 * servers. Prints one line, a JSON array of every PID (parent first), once all
 * children are ready, then waits to be killed.
 *
 * Usage: forkload [children] [shared MiB] [written KiB per child]
 *        (default 300 64 512)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int children = argc > 1 ? atoi(argv[1]) : 300;
    size_t size = (argc > 2 ? strtoull(argv[2], NULL, 10) : 64) << 20;
    size_t written = (argc > 3 ? strtoull(argv[3], NULL, 10) : 512) << 10;
    long page = sysconf(_SC_PAGESIZE);
    if (children < 1 || written == 0 || written > size) {
        fprintf(stderr, "forkload: bad arguments\n");
        return 2;
    }
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t off = 0; off < size; off += (size_t)page) p[off] = 1;
    int ready[2];
    if (pipe(ready) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t *pids = calloc((size_t)children, sizeof *pids);
    pid_t parent = getpid();
    for (int i = 0; i < children; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            kill(0, SIGKILL);
            return 1;
        }
        if (pid == 0) {
            /* Children must not outlive the parent if the benchmark dies. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(1);
            size_t start = ((size_t)i * written) % (size - written + 1);
            start -= start % (size_t)page;
            for (size_t off = start; off < start + written; off += (size_t)page) p[off] = 2;
            char byte = 1;
            if (write(ready[1], &byte, 1) != 1) _exit(1);
            for (;;) pause();
        }
        pids[i] = pid;
    }
    close(ready[1]);
    for (int got = 0; got < children;) {
        char byte;
        ssize_t n = read(ready[0], &byte, 1);
        if (n <= 0) {
            fprintf(stderr, "forkload: a child died before it was ready\n");
            for (int i = 0; i < children; i++) kill(pids[i], SIGKILL);
            return 1;
        }
        got += (int)n;
    }
    printf("[%d", (int)parent);
    for (int i = 0; i < children; i++) printf(",%d", (int)pids[i]);
    printf("]\n");
    fflush(stdout);
    for (;;) pause();
}
