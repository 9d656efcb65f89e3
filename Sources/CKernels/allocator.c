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

#include <stdlib.h>  // defines __GLIBC__ on glibc systems
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
