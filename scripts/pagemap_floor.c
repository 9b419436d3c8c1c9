/*
 * A floor for the benchmarks: the reads uss makes of a process, made by the
 * cheapest program that makes them, and nothing else (no kpagecount, no stat,
 * no accounting). For each process it reads /proc/PID/status and maps, then,
 * as uss chooses:
 * - the pagemap entries of every mapped range (adjacent ranges in one read,
 *   512 KiB at a time);
 * - or, for a process mostly reserved and never touched (more than
 *   SPARSE_MIN_PAGES pages of address space, and more than VMA_PAGES pages not
 *   resident per VMA) or with hugetlb pages, its smaps, then the pagemap of
 *   the VMAs smaps says hold shared pages.
 * A program that reads what uss reads cannot be faster, in any language; so a
 * target below this floor cannot be met on that machine by uss's design.
 * The bench scripts pass uss's own values of the two thresholds. Run as root,
 * as uss is, so the kernel looks up each page as it does for uss.
 *
 * With THREADS > 1 the processes are shared out among that many threads (the
 * kernel walks different processes' page tables in parallel, as uss's reads
 * do on Deno's thread pool).
 *
 * Prints one line: processes read, of them through smaps, entries read.
 *
 * Usage: pagemap_floor SPARSE_MIN_PAGES VMA_PAGES THREADS [PID...]
 *        (every process when no PID is given)
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENTRIES_PER_READ 65536

static long sparse_min_pages, vma_pages, page;

/* One thread's processes (every `stride`-th from `first`) and what it read. */
struct worker {
    pthread_t thread;
    const long *pids;
    long count, stride, first;
    long processes, through_smaps, entries;
    char *text;
    size_t capacity;
    uint64_t *entries_buffer;
};

/*
 * Reads the whole of a procfs file into the worker's text buffer, ended by a
 * NUL; -1 when it cannot.
 */
static long read_all(struct worker *w, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = 0;
    for (;;) {
        if (length + 1 >= w->capacity) {
            w->capacity = w->capacity ? 2 * w->capacity : 1 << 16;
            w->text = realloc(w->text, w->capacity);
            if (!w->text) abort();
        }
        ssize_t got = read(fd, w->text + length, w->capacity - 1 - length);
        if (got <= 0) break;
        length += (size_t)got;
    }
    close(fd);
    w->text[length] = '\0';
    return (long)length;
}

/* The number after `key` in `text` (a status field in kB), or 0. */
static long field(const char *text, const char *key) {
    const char *at = strstr(text, key);
    return at ? atol(at + strlen(key)) : 0;
}

/* Reads the entries of pages [from, to). */
static void read_range(struct worker *w, int pagemap, unsigned long from, unsigned long to) {
    while (from < to) {
        unsigned long pages = to - from;
        if (pages > ENTRIES_PER_READ) pages = ENTRIES_PER_READ;
        ssize_t got = pread(pagemap, w->entries_buffer, pages * 8, (off_t)(from * 8));
        if (got <= 0) return;
        w->entries += got / 8;
        from += (unsigned long)got / 8;
    }
}

/* The pages of the range a maps or smaps header line at `at` starts with. */
static void range_at(const char *at, unsigned long *start, unsigned long *stop) {
    char *next;
    *start = strtoul(at, &next, 16) / (unsigned long)page;
    *stop = strtoul(next + 1, NULL, 16) / (unsigned long)page;
}

/* Pagemap of every mapped range in the maps text of `length` bytes. */
static void read_every_range(struct worker *w, int pagemap, long length) {
    unsigned long from = 0, to = 0;
    char *at = w->text, *end = w->text + length;
    while (at < end) {
        unsigned long start, stop;
        range_at(at, &start, &stop);
        char *newline = memchr(at, '\n', (size_t)(end - at));
        at = newline ? newline + 1 : end;
        if (start == to) {
            to = stop;
            continue;
        }
        read_range(w, pagemap, from, to);
        from = start;
        to = stop;
    }
    read_range(w, pagemap, from, to);
}

/* smaps, then the pagemap of each VMA that holds shared pages (Shared_* not 0 kB). */
static void read_through_smaps(struct worker *w, long pid, int pagemap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/smaps", pid);
    long length = read_all(w, path);
    if (length < 0) return;
    w->through_smaps++;
    unsigned long start = 0, stop = 0;
    long shared = 0;
    char *at = w->text, *end = w->text + length;
    while (at < end) {
        char *newline = memchr(at, '\n', (size_t)(end - at));
        char *line_end = newline ? newline : end;
        if (isxdigit((unsigned char)*at) && memchr(at, '-', (size_t)(line_end - at))) {
            if (shared > 0) read_range(w, pagemap, start, stop);
            range_at(at, &start, &stop);
            shared = 0;
        } else if (strncmp(at, "Shared_", 7) == 0) {
            const char *colon = memchr(at, ':', (size_t)(line_end - at));
            if (colon) shared += atol(colon + 1);
        }
        at = newline ? newline + 1 : end;
    }
    if (shared > 0) read_range(w, pagemap, start, stop);
}

static void read_process(struct worker *w, long pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (read_all(w, path) < 0) return;
    long virtual_pages = field(w->text, "VmSize:") * 1024 / page;
    long resident_pages = (field(w->text, "VmRSS:") + field(w->text, "VmSwap:")) * 1024 / page;
    int hugetlb = field(w->text, "HugetlbPages:") > 0;
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    long length = read_all(w, path);
    if (length < 0) return;
    long vmas = 0;
    for (char *at = w->text; (at = memchr(at, '\n', (size_t)(w->text + length - at))); at++) vmas++;
    snprintf(path, sizeof path, "/proc/%ld/pagemap", pid);
    int pagemap = open(path, O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) return;
    if (hugetlb || (virtual_pages > sparse_min_pages &&
                    virtual_pages - resident_pages > vmas * vma_pages)) {
        read_through_smaps(w, pid, pagemap);
    } else {
        read_every_range(w, pagemap, length);
    }
    close(pagemap);
    w->processes++;
}

static void *work(void *arg) {
    struct worker *w = arg;
    w->entries_buffer = malloc(ENTRIES_PER_READ * sizeof *w->entries_buffer);
    if (!w->entries_buffer) abort();
    for (long i = w->first; i < w->count; i += w->stride) read_process(w, w->pids[i]);
    free(w->entries_buffer);
    free(w->text);
    return NULL;
}

/* Every numeric entry of /proc, as uss lists processes. */
static long list_processes(long **pids) {
    DIR *proc = opendir("/proc");
    if (!proc) return 0;
    long count = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        if (!isdigit((unsigned char)entry->d_name[0])) continue;
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            *pids = realloc(*pids, (size_t)capacity * sizeof **pids);
            if (!*pids) abort();
        }
        (*pids)[count++] = atol(entry->d_name);
    }
    closedir(proc);
    return count;
}

int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    sparse_min_pages = argc > 1 ? atol(argv[1]) : 0;
    vma_pages = argc > 2 ? atol(argv[2]) : 0;
    long threads = argc > 3 ? atol(argv[3]) : 0;
    if (sparse_min_pages < 1 || vma_pages < 1 || threads < 1 || threads > 256) {
        fprintf(stderr, "usage: pagemap_floor SPARSE_MIN_PAGES VMA_PAGES THREADS [PID...]\n");
        return 2;
    }
    long *pids = NULL;
    long count = 0;
    if (argc > 4) {
        count = argc - 4;
        pids = calloc((size_t)count, sizeof *pids);
        if (!pids) abort();
        for (long i = 0; i < count; i++) pids[i] = atol(argv[i + 4]);
    } else {
        count = list_processes(&pids);
    }
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    if (!workers) abort();
    for (long t = 0; t < threads; t++) {
        workers[t] = (struct worker){.pids = pids, .count = count, .stride = threads, .first = t};
        if (t > 0 && pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
            fprintf(stderr, "pagemap_floor: cannot start a thread\n");
            return 1;
        }
    }
    work(&workers[0]);
    long processes = workers[0].processes, through_smaps = workers[0].through_smaps,
         entries = workers[0].entries;
    for (long t = 1; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        processes += workers[t].processes;
        through_smaps += workers[t].through_smaps;
        entries += workers[t].entries;
    }
    printf("%ld processes, %ld of them through smaps, %ld entries\n", processes, through_smaps,
           entries);
    return 0;
}
