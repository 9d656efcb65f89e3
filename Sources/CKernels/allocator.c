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
// faulting and zeroing pages. The same sizes recur every pass, so freed blocks wait here for the
// next large request: one of exactly their size takes a block; any other releases them all
// before mapping its own, so cached blocks are never held alongside a fresh large block. (They
// do stay, up to 1 GiB, while only smaller blocks are requested, and after the work ends.) Two slots: the output
// of an op in a conv -> batch norm -> ReLU chain usually takes the block its input's input just
// released. (MobileNetV2 eval, batch 64, 2 threads: 42 -> 61 images/s. Keeping blocks until a cap
// instead raised its peak RSS from 1.0 to 1.2 GB with 3 slots and to 1.8 GB with 16.)

enum { CACHE_SLOTS = 2 };
static const size_t CACHE_MIN_BYTES = (size_t)32 << 20, CACHE_MAX_BYTES = (size_t)1 << 30;

static struct {
    void *block[CACHE_SLOTS];
    size_t bytes[CACHE_SLOTS];
    unsigned long age[CACHE_SLOTS];
    size_t total;
    unsigned long clock;
} g_cache;
static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;

void *pk_buffer_alloc(size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (bytes >= CACHE_MIN_BYTES) {
        void *stale[CACHE_SLOTS];
        int n_stale = 0;
        pthread_mutex_lock(&g_cache_lock);
        for (int i = 0; i < CACHE_SLOTS; ++i) {
            if (g_cache.block[i] && g_cache.bytes[i] == bytes) {
                void *b = g_cache.block[i];
                g_cache.block[i] = NULL;
                g_cache.total -= bytes;
                pthread_mutex_unlock(&g_cache_lock);
                return b;
            }
        }
        // A miss: the cached blocks are released before a fresh one is mapped, so the cache
        // never raises the peak of memory in use.
        for (int i = 0; i < CACHE_SLOTS; ++i) {
            if (g_cache.block[i]) { stale[n_stale++] = g_cache.block[i]; g_cache.block[i] = NULL; }
        }
        g_cache.total = 0;
        pthread_mutex_unlock(&g_cache_lock);
        for (int i = 0; i < n_stale; ++i) free(stale[i]);
    }
    void *b = NULL;
    if (posix_memalign(&b, 64, bytes) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Fresh large blocks are faulted in 2 MiB pages where the kernel allows it (THP "madvise"
    // mode): one fault per 2 MiB instead of per 4 KiB.
    if (bytes >= CACHE_MIN_BYTES) {
        const uintptr_t huge = (uintptr_t)2 << 20, lo = ((uintptr_t)b + huge - 1) & ~(huge - 1);
        const uintptr_t hi = ((uintptr_t)b + bytes) & ~(huge - 1);
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#endif
    return b;
}

void pk_buffer_free(void *block, size_t bytes) {
    if (!block) return;
    if (bytes == 0) bytes = 1;
    if (bytes < CACHE_MIN_BYTES || bytes > CACHE_MAX_BYTES) { free(block); return; }
    void *evicted[CACHE_SLOTS];
    int n_evicted = 0;
    pthread_mutex_lock(&g_cache_lock);
    // Make room: release the oldest blocks until this one fits under the cap and a slot is free.
    for (;;) {
        int free_slot = -1, oldest = -1;
        for (int i = 0; i < CACHE_SLOTS; ++i) {
            if (!g_cache.block[i]) { if (free_slot < 0) free_slot = i; continue; }
            if (oldest < 0 || g_cache.age[i] < g_cache.age[oldest]) oldest = i;
        }
        if (free_slot >= 0 && g_cache.total + bytes <= CACHE_MAX_BYTES) {
            g_cache.block[free_slot] = block;
            g_cache.bytes[free_slot] = bytes;
            g_cache.age[free_slot] = ++g_cache.clock;
            g_cache.total += bytes;
            break;
        }
        evicted[n_evicted++] = g_cache.block[oldest];
        g_cache.total -= g_cache.bytes[oldest];
        g_cache.block[oldest] = NULL;
    }
    pthread_mutex_unlock(&g_cache_lock);
    for (int i = 0; i < n_evicted; ++i) free(evicted[i]);
}

size_t pk_buffer_cached_bytes(void) {
    pthread_mutex_lock(&g_cache_lock);
    const size_t total = g_cache.total;
    pthread_mutex_unlock(&g_cache_lock);
    return total;
}
