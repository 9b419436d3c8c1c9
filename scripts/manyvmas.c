/*
 * The "many VMAs" benchmark shape: one anonymous region of N blocks of 2 pages,
 * every page written, then every other block made read-only, so the region is
 * split into N VMAs (the kernel cannot merge neighbours whose protections
 * differ). Costs that scale with the number of mappings (parsing maps, one
 * pagemap read per VMA, one output row per mapping) show here, where the dense
 * shape's single huge VMA hides them. Each VMA counts against vm.max_map_count
 * (65530 by default), which the benchmark checks before starting this.
 * With RESERVED_GIB, it also reserves that much address space PROT_NONE and
 * never touches it, as a JVM reserves its heap: a sparse process of many VMAs.
 * Prints its PID once the region is split, then waits to be killed.
 *
 * Usage: manyvmas [VMAs [RESERVED_GIB]]   (default 65000 0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long vmas = argc > 1 ? atol(argv[1]) : 65000;
    long reserved_gib = argc > 2 ? atol(argv[2]) : 0;
    long page = sysconf(_SC_PAGESIZE);
    size_t block = 2 * (size_t)page;
    if (vmas < 1 || reserved_gib < 0) {
        fprintf(stderr, "manyvmas: bad arguments\n");
        return 2;
    }
    size_t size = (size_t)vmas * block;
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* Non-zero bytes: a page that is only read would map the shared zero page. */
    for (size_t off = 0; off < size; off += (size_t)page) p[off] = (unsigned char)(off / page) | 1;
    for (long i = 1; i < vmas; i += 2) {
        if (mprotect(p + (size_t)i * block, block, PROT_READ) != 0) {
            /* ENOMEM here: vm.max_map_count is too low for this many VMAs. */
            perror("manyvmas: mprotect");
            return 1;
        }
    }
    if (reserved_gib > 0 &&
        mmap(NULL, (size_t)reserved_gib << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
             -1, 0) == MAP_FAILED) {
        perror("manyvmas: mmap reservation");
        return 1;
    }
    printf("%d\n", (int)getpid());
    fflush(stdout);
    for (;;) pause();
}
