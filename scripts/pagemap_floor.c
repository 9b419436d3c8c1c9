/*
 * A floor for the benchmarks: the reads uss makes of a process it measures
 * through pagemap, made by the cheapest program that makes them. For each
 * process it reads /proc/PID/maps, then the pagemap entries of every mapped
 * range (adjacent ranges in one read, 512 KiB at a time), and nothing else: no
 * kpagecount, no status, no accounting. A program that reads what uss reads
 * cannot be faster, in any language; so a target below this floor cannot be met
 * on that machine without reading less (uss reads a process through smaps first
 * when pagemap would mostly be empty entries, and has no floor there).
 * Run as root, as uss is, so the kernel looks up each page as it does for uss.
 *
 * With THREADS > 1 the processes are shared out among that many threads (the
 * kernel walks different processes' page tables in parallel, as uss's reads
 * do on Deno's thread pool).
 *
 * Prints one line: processes read, entries read, entries present.
 *
 * Usage: pagemap_floor [THREADS [PID...]]   (default 1, every process)
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

struct worker {
    pthread_t thread;
    const long *pids;
    long count, stride, first;
    long processes, entries, present;
};

/* Reads the whole of a procfs file into a growing buffer; -1 when it cannot. */
static long read_all(const char *path, char **text, size_t *capacity) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = 0;
    for (;;) {
        if (length == *capacity) {
            *capacity = *capacity ? 2 * *capacity : 1 << 16;
            *text = realloc(*text, *capacity);
            if (!*text) abort();
        }
        ssize_t got = read(fd, *text + length, *capacity - length);
        if (got <= 0) break;
        length += (size_t)got;
    }
    close(fd);
    return (long)length;
}

/* Reads the entries of pages [from, to) and counts the present ones. */
static void read_range(struct worker *w, int pagemap, uint64_t *entries, unsigned long from,
                       unsigned long to) {
    while (from < to) {
        unsigned long pages = to - from;
        if (pages > ENTRIES_PER_READ) pages = ENTRIES_PER_READ;
        ssize_t got = pread(pagemap, entries, pages * 8, (off_t)(from * 8));
        if (got <= 0) return;
        long n = got / 8;
        for (long i = 0; i < n; i++) w->present += entries[i] >> 63;
        w->entries += n;
        from += (unsigned long)n;
    }
}

static void read_process(struct worker *w, long pid, char **text, size_t *capacity,
                         uint64_t *entries) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    long length = read_all(path, text, capacity);
    if (length < 0) return;
    snprintf(path, sizeof path, "/proc/%ld/pagemap", pid);
    int pagemap = open(path, O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) return;
    long page = sysconf(_SC_PAGESIZE);
    unsigned long from = 0, to = 0;
    char *at = *text, *end = *text + length;
    while (at < end) {
        char *next;
        unsigned long start = strtoul(at, &next, 16) / (unsigned long)page;
        unsigned long stop = strtoul(next + 1, &next, 16) / (unsigned long)page;
        char *newline = memchr(next, '\n', (size_t)(end - next));
        at = newline ? newline + 1 : end;
        if (start == to) {
            to = stop;
            continue;
        }
        read_range(w, pagemap, entries, from, to);
        from = start;
        to = stop;
    }
    read_range(w, pagemap, entries, from, to);
    close(pagemap);
    w->processes++;
}

static void *work(void *arg) {
    struct worker *w = arg;
    char *text = NULL;
    size_t capacity = 0;
    uint64_t *entries = malloc(ENTRIES_PER_READ * sizeof *entries);
    if (!entries) abort();
    for (long i = w->first; i < w->count; i += w->stride) {
        read_process(w, w->pids[i], &text, &capacity, entries);
    }
    free(entries);
    free(text);
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
    long threads = argc > 1 ? atol(argv[1]) : 1;
    if (threads < 1 || threads > 256) {
        fprintf(stderr, "pagemap_floor: bad thread count\n");
        return 2;
    }
    long *pids = NULL;
    long count = 0;
    if (argc > 2) {
        count = argc - 2;
        pids = calloc((size_t)count, sizeof *pids);
        if (!pids) abort();
        for (long i = 0; i < count; i++) pids[i] = atol(argv[i + 2]);
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
    long processes = workers[0].processes, entries = workers[0].entries,
         present = workers[0].present;
    for (long t = 1; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        processes += workers[t].processes;
        entries += workers[t].entries;
        present += workers[t].present;
    }
    printf("%ld processes, %ld entries, %ld present\n", processes, entries, present);
    return 0;
}
