// A persistent pool of worker threads for the engine's parallel loops.
//
// A training step of a small network runs hundreds of short parallel regions (one per conv,
// batch norm, activation, … forward and backward), each a few hundred microseconds. Waking a
// sleeping thread for each one (as a general-purpose queue does) costs tens of microseconds and
// leaves the cores idle in between; here workers spin for a while after each region, as OpenMP
// runtimes do, so the next region starts within a microsecond, and sleep only when the engine
// has been idle for longer than the spin time.
//
// One region at a time: the caller publishes (fn, ctx, pieces), then claims pieces itself
// alongside the workers, so a region never waits for a worker that has not woken up yet. Each
// piece is claimed exactly once through a compare-and-swap on one 64-bit ticket that holds the
// region's generation, its piece count and the next unclaimed piece, so a worker that wakes late
// can never claim a piece of a region that has finished; what it claims belongs to the region
// open at that moment, whose function and context it then reads.
//
// Nested regions (a piece that calls pk_parallel_run) and regions started while another thread
// owns the pool run inline on the calling thread. Workers beyond the thread count of the latest
// region (after the count was lowered) sleep without spinning, so they never compete for cores.
#include "CKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define PK_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define PK_CPU_RELAX() ((void)0)
#endif

enum { MAX_WORKERS = 255, MAX_PIECES = 0xFFFF };

/// How long an idle worker spins before it sleeps (nanoseconds).
static const int64_t SPIN_NS = 200000;

// ticket = generation << 32 | pieces << 16 | next unclaimed piece
#define T_GEN(t) ((uint32_t)((t) >> 32))
#define T_PIECES(t) ((uint32_t)(((t) >> 16) & 0xFFFF))
#define T_NEXT(t) ((uint32_t)((t) & 0xFFFF))

static _Atomic uint64_t g_ticket;
static pk_piece_fn g_fn;        // written by the owner before publishing a region
static void *g_ctx;
static _Atomic int g_done;      // pieces finished in the current region
static atomic_flag g_busy = ATOMIC_FLAG_INIT;  // held by the thread running a region
static _Atomic int g_sleepers;
static _Atomic int g_active;    // workers that take part: the last region's thread count - 1
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;           // a new region
static pthread_cond_t g_cond_inactive = PTHREAD_COND_INITIALIZER;  // g_active grew
static int g_workers;           // guarded by g_mutex
static _Thread_local int t_in_region;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/// Claims and runs pieces of the region `ticket` belongs to until none are left, or until a
/// newer region is open (the caller then looks at it afresh: a worker must not join a region
/// its thread count leaves it out of).
static void run_pieces(uint64_t ticket) {
    const uint32_t gen = T_GEN(ticket);
    for (;;) {
        if (T_GEN(ticket) != gen || T_NEXT(ticket) >= T_PIECES(ticket)) return;
        if (atomic_compare_exchange_weak_explicit(&g_ticket, &ticket, ticket + 1, memory_order_acquire,
                                                  memory_order_acquire)) {
            // The claim succeeded, so this region is still open and g_fn/g_ctx are its own.
            g_fn(g_ctx, (int)T_NEXT(ticket));
            atomic_fetch_add_explicit(&g_done, 1, memory_order_release);
            ticket += 1;
        }
        // On failure `ticket` holds the current value: another thread's claim (the loop tries
        // again with it) or a newer region (the loop ends).
    }
}

/// Sleeps until worker `idx` may take part in regions again (the thread count was lowered).
static void wait_while_inactive(int idx) {
    pthread_mutex_lock(&g_mutex);
    while (idx >= atomic_load(&g_active)) pthread_cond_wait(&g_cond_inactive, &g_mutex);
    pthread_mutex_unlock(&g_mutex);
}

static void *worker_main(void *arg) {
    const int idx = (int)(intptr_t)arg;
    t_in_region = 1;  // anything a piece calls runs its own regions inline
    // Generation 0 is never published, so a worker created for a region (before it is
    // published) joins it even if the thread starts after the publication.
    uint32_t seen = 0;
    for (;;) {
        if (idx >= atomic_load(&g_active)) {
            // Beyond the current thread count: neither spin nor claim until it grows again.
            // `seen` stays as it was: if a region was published meanwhile, this worker joins it
            // (claims are checked against the live ticket, so a finished one yields nothing).
            wait_while_inactive(idx);
            continue;
        }
        uint64_t t = atomic_load_explicit(&g_ticket, memory_order_acquire);
        int64_t start = now_ns();
        unsigned spins = 0;
        while (T_GEN(t) == seen) {
            PK_CPU_RELAX();
            if ((++spins & 255) == 0) {
                // Let a runnable thread have this core: on an oversubscribed machine the thread
                // this worker waits for may be queued behind it.
                sched_yield();
                if (idx >= atomic_load(&g_active)) break;
                if (now_ns() - start > SPIN_NS) {
                    pthread_mutex_lock(&g_mutex);
                    atomic_fetch_add(&g_sleepers, 1);
                    while (T_GEN(atomic_load(&g_ticket)) == seen && idx < atomic_load(&g_active))
                        pthread_cond_wait(&g_cond, &g_mutex);
                    atomic_fetch_sub(&g_sleepers, 1);
                    pthread_mutex_unlock(&g_mutex);
                    start = now_ns();
                }
            }
            t = atomic_load_explicit(&g_ticket, memory_order_acquire);
        }
        if (T_GEN(t) == seen || idx >= atomic_load(&g_active)) continue;
        seen = T_GEN(t);
        run_pieces(t);
    }
    return NULL;
}

/// Makes `count` workers take part in regions (creating them as needed; fewer if threads
/// cannot be created); workers beyond it sleep.
static void set_active_workers(int count) {
    if (count > MAX_WORKERS) count = MAX_WORKERS;
    if (count == atomic_load(&g_active)) return;
    pthread_mutex_lock(&g_mutex);
    while (g_workers < count) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        // Pieces run Swift closures that may recurse a little; 8 MB like the main thread.
        pthread_attr_setstacksize(&attr, 8u << 20);
        int rc = pthread_create(&th, &attr, worker_main, (void *)(intptr_t)g_workers);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        g_workers += 1;
    }
    atomic_store(&g_active, count < g_workers ? count : g_workers);
    pthread_cond_broadcast(&g_cond_inactive);
    pthread_cond_broadcast(&g_cond);  // sleeping workers beyond the count move to the inactive wait
    pthread_mutex_unlock(&g_mutex);
}

void pk_parallel_run(int pieces, int threads, pk_piece_fn fn, void *ctx) {
    if (pieces <= 0) return;
    if (pieces == 1 || threads <= 1 || pieces > MAX_PIECES || t_in_region || atomic_flag_test_and_set(&g_busy)) {
        for (int p = 0; p < pieces; ++p) fn(ctx, p);
        return;
    }
    set_active_workers(threads - 1);
    t_in_region = 1;
    g_fn = fn;
    g_ctx = ctx;
    atomic_store_explicit(&g_done, 0, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&g_ticket, memory_order_relaxed);
    uint32_t gen = T_GEN(old) + 1;
    if (gen == 0) gen = 1;
    uint64_t ticket = (uint64_t)gen << 32 | (uint64_t)pieces << 16;
    atomic_store(&g_ticket, ticket);  // publishes fn, ctx and the reset done count
    if (atomic_load(&g_sleepers) > 0) {
        pthread_mutex_lock(&g_mutex);
        pthread_cond_broadcast(&g_cond);
        pthread_mutex_unlock(&g_mutex);
    }
    run_pieces(ticket);
    // Wait for pieces still running on workers, yielding now and then in case a worker is
    // queued behind this thread on an oversubscribed machine.
    for (unsigned spins = 1; atomic_load_explicit(&g_done, memory_order_acquire) < pieces; ++spins) {
        PK_CPU_RELAX();
        if ((spins & 255) == 0) sched_yield();
    }
    t_in_region = 0;
    atomic_flag_clear(&g_busy);
}
