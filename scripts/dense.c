/*
 * The "dense" benchmark shape: 4 GiB of private anonymous memory, every page
 * written, so every pagemap entry is present and every frame has kpagecount 1.
 * Prints its PID once the memory is resident, then stops itself (a stopped
 * process cannot change its pages while it is being measured).
 *
 * Usage: dense [MiB]   (default 4096)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 4096;
    size_t size = mib << 20;
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* Non-zero bytes: a page that is only read would map the shared zero page. */
    for (size_t off = 0; off < size; off += (size_t)page) p[off] = (unsigned char)(off / page) | 1;
    printf("%d\n", (int)getpid());
    fflush(stdout);
    raise(SIGSTOP);
    /* Someone sent SIGCONT: keep the memory until killed. */
    for (;;) pause();
}
