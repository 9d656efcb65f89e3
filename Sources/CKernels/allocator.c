// Heap tuning for the tensor engine (see Storage.allocatorTuned in the Engine target).
//
// By default glibc serves blocks above a sliding threshold with fresh mmaps and returns them to
// the kernel on free, so a training step's activations and gradients are page-faulted and
// zeroed by the kernel again every step (about 10% of a ResNet-56 step here). A fixed 32 MiB
// mmap threshold (the largest glibc accepts on 64-bit) and a 128 MiB trim threshold keep those
// blocks on the heap, where freed blocks are reused. One arena for all threads: buffers freed
// by a worker thread are then reusable by every thread, instead of each thread's arena holding
// its own peak (2 threads training ResNet-34: 1612 MB peak RSS in one run before, 1351-1366 MB
// in two runs after; two-thread peaks vary with fragmentation). It runs at load time (below);
// Storage also calls it, which keeps this object, and so the constructor, linked in.
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE  // mremap; before any system header
#endif
#include "CKernels.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>  // defines __GLIBC__ on glibc systems
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void pk_keep_freed_blocks_in_heap(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    mallopt(M_ARENA_MAX, 1);
#endif
}

// Also at load time: the arena limit only holds for arenas created after it is set, and worker
// threads may allocate before the first tensor does.
__attribute__((constructor, used)) static void pk_tune_heap_at_load(void) { pk_keep_freed_blocks_in_heap(); }

// ---- Cache of large tensor buffers ----
//
// Blocks of glibc's largest mmap threshold (32 MiB) and more are always fresh mappings: an eval pass of
// MobileNetV2 at batch 64 (activations up to 308 MB) spent about 40% of its time in the kernel
// faulting and zeroing pages. So freed large blocks wait here (eight slots, at most 1 GiB) for the
// next large request. One of exactly its size is taken as it is. Otherwise, on Linux, the cached
// block closest in size is resized to the request with mremap, which keeps its pages (already
// faulted in, never zeroed again): shrinking returns the tail to the kernel, growing faults in
// only the new part; elsewhere a fresh block is allocated. The other cached blocks stay only
// while the large blocks in use plus those cached do not exceed the most the large blocks in use
// have ever held together (the oldest are released first): so the cache never raises the peak
// of memory in use. (MobileNetV2 eval, batch 64: exact-size reuse with every other cached block
// released at each miss still mapped about 1.5 GB of fresh pages a pass, at every change of
// activation size; keeping blocks up to a fixed cap instead raised its peak RSS from 1.0 to 1.2 GB
// with 3 slots and to 1.8 GB with 16.)

enum { CACHE_SLOTS = 8 };
static const size_t CACHE_MIN_BYTES = (size_t)32 << 20, CACHE_MAX_BYTES = (size_t)1 << 30;

static struct {
    void *block[CACHE_SLOTS];
    size_t bytes[CACHE_SLOTS];
    unsigned long age[CACHE_SLOTS];
    size_t total;          // bytes cached
    size_t live;           // bytes of large blocks in use
    size_t peak_live;      // the most `live` has been (since the last pk_buffer_release_cached)
    unsigned long clock;
} g_cache;
static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;

// Large blocks: own mappings on Linux (so they can be resized in place of being mapped afresh),
// the C library's elsewhere.
#if defined(__linux__) && defined(MREMAP_MAYMOVE)
static const size_t HUGE_PAGE = (size_t)2 << 20;

static size_t page_rounded(size_t bytes) {
    const size_t page = 4096;
    return (bytes + page - 1) / page * page;
}

/// A fresh mapping of `bytes`, 2 MiB aligned and advised to use transparent huge pages (THP
/// "madvise" mode): one fault per 2 MiB instead of per 4 KiB.
static void *large_map(size_t bytes) {
    const size_t len = page_rounded(bytes);
    unsigned char *raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    unsigned char *start = (unsigned char *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (start > raw) munmap(raw, (size_t)(start - raw));
    const size_t tail = (size_t)(raw + len + HUGE_PAGE - (start + len));
    if (tail > 0) munmap(start + len, tail);
#if defined(MADV_HUGEPAGE)
    madvise(start, len, MADV_HUGEPAGE);
#endif
    return start;
}

static void large_unmap(void *block, size_t bytes) { munmap(block, page_rounded(bytes)); }

/// `block` (of `old_bytes`) resized to `bytes`, its pages kept up to the smaller size; NULL
/// (block released) when the kernel refuses.
static void *large_resize(void *block, size_t old_bytes, size_t bytes) {
    void *b = mremap(block, page_rounded(old_bytes), page_rounded(bytes), MREMAP_MAYMOVE);
    if (b != MAP_FAILED) return b;
    large_unmap(block, old_bytes);
    return NULL;
}
#else
static void *large_map(size_t bytes) {
    void *b = NULL;
    return posix_memalign(&b, 64, bytes) == 0 ? b : NULL;
}

static void large_unmap(void *block, size_t bytes) {
    (void)bytes;
    free(block);
}

/// No resizing here: the block is released and the caller allocates afresh.
static void *large_resize(void *block, size_t old_bytes, size_t bytes) {
    (void)bytes;
    large_unmap(block, old_bytes);
    return NULL;
}
#endif

/// Distance between two sizes.
static size_t size_gap(size_t a, size_t b) { return a > b ? a - b : b - a; }

/// Index of the oldest cached block (-1 when empty). Caller holds the lock.
static int oldest_cached(void) {
    int oldest = -1;
    for (int i = 0; i < CACHE_SLOTS; ++i)
        if (g_cache.block[i] && (oldest < 0 || g_cache.age[i] < g_cache.age[oldest])) oldest = i;
    return oldest;
}

/// Takes slot i out of the cache into out[*n]. Caller holds the lock.
static void take_slot(int i, void **out, size_t *out_bytes, int *n) {
    out[*n] = g_cache.block[i];
    out_bytes[(*n)++] = g_cache.bytes[i];
    g_cache.total -= g_cache.bytes[i];
    g_cache.block[i] = NULL;
}

/// Records `bytes` more in use. Caller holds the lock.
static void add_live(size_t bytes) {
    g_cache.live += bytes;
    if (g_cache.live > g_cache.peak_live) g_cache.peak_live = g_cache.live;
}

void *pk_buffer_alloc(size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (bytes < CACHE_MIN_BYTES) {
        void *b = NULL;
        return posix_memalign(&b, 64, bytes) == 0 ? b : NULL;
    }
    void *stale[CACHE_SLOTS], *reuse = NULL;
    size_t stale_bytes[CACHE_SLOTS], reuse_bytes = 0;
    int n_stale = 0, nearest = -1;
    pthread_mutex_lock(&g_cache_lock);
    for (int i = 0; i < CACHE_SLOTS; ++i) {
        if (!g_cache.block[i]) continue;
        if (g_cache.bytes[i] == bytes) {
            void *b = g_cache.block[i];
            g_cache.block[i] = NULL;
            g_cache.total -= bytes;
            add_live(bytes);
            pthread_mutex_unlock(&g_cache_lock);
            return b;
        }
        if (nearest < 0 || size_gap(g_cache.bytes[i], bytes) < size_gap(g_cache.bytes[nearest], bytes)) nearest = i;
    }
    // A miss: the nearest cached block is resized; the oldest others are released while the
    // blocks in use and cached would exceed the peak in use.
    if (nearest >= 0) {
        int one = 0;
        take_slot(nearest, &reuse, &reuse_bytes, &one);
    }
    const size_t in_use = g_cache.live + bytes;
    const size_t bound = g_cache.peak_live > in_use ? g_cache.peak_live : in_use;
    while (g_cache.total > 0 && in_use + g_cache.total > bound) take_slot(oldest_cached(), stale, stale_bytes, &n_stale);
    add_live(bytes);
    pthread_mutex_unlock(&g_cache_lock);
    for (int i = 0; i < n_stale; ++i) large_unmap(stale[i], stale_bytes[i]);
    void *b = reuse ? large_resize(reuse, reuse_bytes, bytes) : NULL;
    if (!b) b = large_map(bytes);
    if (!b) {
        pthread_mutex_lock(&g_cache_lock);
        g_cache.live -= bytes;
        pthread_mutex_unlock(&g_cache_lock);
    }
    return b;
}

void pk_buffer_free(void *block, size_t bytes) {
    if (!block) return;
    if (bytes == 0) bytes = 1;
    if (bytes < CACHE_MIN_BYTES) { free(block); return; }
    void *evicted[CACHE_SLOTS];
    size_t evicted_bytes[CACHE_SLOTS];
    int n_evicted = 0, cached = 0;
    pthread_mutex_lock(&g_cache_lock);
    g_cache.live -= bytes;
    if (bytes <= CACHE_MAX_BYTES) {
        // Make room: release the oldest blocks until this one fits under the cap and a slot is free.
        for (;;) {
            int free_slot = -1;
            for (int i = 0; i < CACHE_SLOTS && free_slot < 0; ++i)
                if (!g_cache.block[i]) free_slot = i;
            if (free_slot >= 0 && g_cache.total + bytes <= CACHE_MAX_BYTES) {
                g_cache.block[free_slot] = block;
                g_cache.bytes[free_slot] = bytes;
                g_cache.age[free_slot] = ++g_cache.clock;
                g_cache.total += bytes;
                cached = 1;
                break;
            }
            take_slot(oldest_cached(), evicted, evicted_bytes, &n_evicted);
        }
    }
    pthread_mutex_unlock(&g_cache_lock);
    if (!cached) large_unmap(block, bytes);
    for (int i = 0; i < n_evicted; ++i) large_unmap(evicted[i], evicted_bytes[i]);
}

void pk_buffer_release_cached(void) {
    void *blocks[CACHE_SLOTS];
    size_t sizes[CACHE_SLOTS];
    int n = 0;
    pthread_mutex_lock(&g_cache_lock);
    for (int i = 0; i < CACHE_SLOTS; ++i)
        if (g_cache.block[i]) take_slot(i, blocks, sizes, &n);
    g_cache.peak_live = g_cache.live;
    pthread_mutex_unlock(&g_cache_lock);
    for (int i = 0; i < n; ++i) large_unmap(blocks[i], sizes[i]);
}

size_t pk_buffer_cached_bytes(void) {
    pthread_mutex_lock(&g_cache_lock);
    const size_t total = g_cache.total;
    pthread_mutex_unlock(&g_cache_lock);
    return total;
}
