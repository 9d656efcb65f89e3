// Blocked SGEMM driver shared by every SIMD level (Goto / BLIS-style loop nest).
//
//   for jc in N by NC:                  packed B block (KC x NC): L2/L3
//     for pc in K by KC:
//       for ic in M by MC:              packed A block (MC x KC): L2
//         for jr in nc by NR:           one B panel (KC x NR) stays hot in L1 ...
//           [ic == 0: pack B panel jr]
//           for ir in mc by MR:         ... while the MR-row A panels stream past it
//             [jr == 0: pack A panel ir]
//             micro-kernel: C[ic+ir:+MR, jc+jr:+NR] (+)= A panel * B panel
//
// Packing makes every micro-kernel read unit-stride, aligned, zero-padded data regardless of the
// transposes and leading dimensions, so one kernel serves all four trans combinations. Panels
// are packed lazily, right before their first use, so the freshly written panel is still in L1
// when the kernel reads it and packing overlaps with compute instead of being a separate pass
// over memory (this matters when M or N is small and each panel is reused only a few times).
// The first K block applies the caller's beta; later K blocks accumulate (beta = 1). Edge tiles
// (m < MR or n < NR) are handled inside the micro-kernels. Where few A panels read each B
// panel (an inference 1×1 conv with few output channels), levels with a strided-B kernel read
// an untransposed B in place instead of packing it (strided_b_suits).
//
// Packing buffers are thread-local and grow on demand (freed when the thread exits), so the
// function is re-entrant across threads and allocation-free in steady state.
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>

// MARK: - Thread-local workspace

typedef struct {
    float *buf;
    size_t cap;  // in floats
} workspace;

static pthread_key_t g_ws_key;
static pthread_once_t g_ws_once = PTHREAD_ONCE_INIT;

static void ws_destroy(void *p) {
    workspace *ws = (workspace *)p;
    if (ws) {
        free(ws->buf);
        free(ws);
    }
}

static void ws_make_key(void) { (void)pthread_key_create(&g_ws_key, ws_destroy); }

/// Returns a 64-byte aligned buffer of at least `floats` floats owned by the calling thread,
/// or NULL on allocation failure.
static float *ws_get(size_t floats) {
    pthread_once(&g_ws_once, ws_make_key);
    workspace *ws = (workspace *)pthread_getspecific(g_ws_key);
    if (!ws) {
        ws = (workspace *)calloc(1, sizeof(workspace));
        if (!ws) return NULL;
        if (pthread_setspecific(g_ws_key, ws) != 0) {
            free(ws);
            return NULL;
        }
    }
    if (ws->cap < floats) {
        free(ws->buf);
        ws->buf = NULL;
        ws->cap = 0;
        void *p = NULL;
        // Over-allocate a little so slowly growing shapes do not reallocate every call.
        size_t want = floats + floats / 4 + 1024;
        if (posix_memalign(&p, 64, want * sizeof(float)) != 0) return NULL;
        ws->buf = (float *)p;
        ws->cap = want;
    }
    return ws->buf;
}

// MARK: - Blocking helpers

static long round_up(long x, long m) { return (x + m - 1) / m * m; }

/// Splits `total` into ceil(total / max) near-equal blocks, each a multiple of `unit`, so a
/// dimension just above the block size does not leave a tiny, inefficient remainder block.
static long balanced_block(long total, long max, long unit) {
    if (total <= max) return total;
    long nblocks = (total + max - 1) / max;
    long b = round_up((total + nblocks - 1) / nblocks, unit);
    return b > max ? max : b;
}

// MARK: - Driver

/// Fallback used only if the workspace cannot be allocated: a correct, unblocked triple loop.
static void gemm_naive(int transA, int transB, long M, long N, long K, float alpha,
                       const float *A, long lda, const float *B, long ldb, float beta,
                       float *C, long ldc) {
    for (long i = 0; i < M; ++i) {
        for (long j = 0; j < N; ++j) {
            float s = 0.0f;
            for (long k = 0; k < K; ++k) {
                float a = transA ? A[k * lda + i] : A[i * lda + k];
                float b = transB ? B[j * ldb + k] : B[k * ldb + j];
                s += a * b;
            }
            float *c = C + i * ldc + j;
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
    }
}

/// Element (r, k) of op(A) in the whole-matrix packed layout (pk_pack_a_all's: K blocks of kcb,
/// Mr padded rows, MR-row panels inside each block).
static inline float packed_a_at(const float *packed, long kcb, long Mr, int mr, long K, long r, long k) {
    const long pc = k / kcb * kcb, kc = K - pc < kcb ? K - pc : kcb;
    return packed[pc * Mr + r / mr * mr * kc + (k - pc) * mr + r % mr];
}

/// The same fallback reading op(A) from the whole-matrix packed layout (rows from row0), so a
/// packed A never needs its source.
static void gemm_naive_packed(const pk_kernel_desc *d, long kcb, long Mr, long row0, int transB, long M,
                              long N, long K, float alpha, const float *packed, const float *B, long ldb,
                              float beta, float *C, long ldc) {
    const int mr = d->mr;
    for (long i = 0; i < M; ++i) {
        const long r = row0 + i;
        for (long j = 0; j < N; ++j) {
            float s = 0.0f;
            for (long k = 0; k < K; ++k)
                s += packed_a_at(packed, kcb, Mr, mr, K, r, k) * (transB ? B[j * ldb + k] : B[k * ldb + j]);
            float *c = C + i * ldc + j;
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
    }
}

size_t pk_packed_a_floats(const pk_kernel_desc *d, long M, long K) {
    return (size_t)round_up(M, d->mr) * (size_t)K;
}

// Whole-matrix layout: K block [pc, pc + kc) occupies floats [pc*Mr, (pc + kc)*Mr) with
// Mr = round_up(M, mr); inside it the MR-row panel starting at row i sits at i*kc, laid out as
// pack_a writes it. The K blocks are the driver's (balanced_block(K, d->kc, 1)), so the driver
// finds the panel it would have packed at packed_a + pc*Mr + i*kc.
void pk_pack_a_all(const pk_kernel_desc *d, int transA, const float *A, long lda, long M, long K,
                   float *dst) {
    const long kcb = balanced_block(K, d->kc, 1), Mr = round_up(M, d->mr);
    for (long pc = 0; pc < K; pc += kcb) {
        const long kc = K - pc < kcb ? K - pc : kcb;
        for (long i = 0; i < M; i += d->mr) {
            const long m = M - i < d->mr ? M - i : d->mr;
            d->pack_a(transA, A, lda, i, pc, m, kc, d->mr, dst + pc * Mr + i * kc);
        }
    }
}

enum { PK_EPILOGUE_PANELS = 8 };

/// Whether a B with rows `ldb` floats apart is better read in place than packed, for a product
/// of M rows. A B panel (kc rows of nr columns) is read once per MR-row A panel: packing costs
/// one copy of it, reading it in place costs a little on every read (rows in many pages and
/// cache sets, masked edge loads), so it pays when few A panels read it. Timed per
/// MobileNetV2 1×1 conv (best of 15, one thread, AVX-512 and AVX2): in place 3–18% faster up
/// to 96 rows, 1–11% slower from 144 rows. And the panel must stay in L2 between the reads:
/// rows a multiple of 2 KiB apart share an eighth or less of the L2's sets and evict each other
/// (a 1 MiB 8-way L2 has 2048 sets: rows 2 KiB apart fall in 64 of them).
static int strided_b_suits(long M, long ldb) { return M <= 128 && ldb % 512 != 0; }

void pk_gemm_blocked(const pk_kernel_desc *d, int transA, int transB, long M, long N, long K,
                     float alpha, const float *A, long lda, const float *packed_a,
                     long packed_row0, long packed_rows, const float *B, long ldb,
                     float beta, float *C, long ldc, const pk_epilogue *ep, int b_in_place) {
    const int mr = d->mr, nr = d->nr;
    // B read where it lies (no packing copy): the kernel's strided loads stay in L2 for the
    // later A panels (see strided_b_suits).
    const int direct_b = b_in_place && !transB && d->kernel_strided_b && strided_b_suits(M, ldb);
    const long kcb = balanced_block(K, d->kc, 1);
    const long mcb = balanced_block(M, d->mc, mr);
    const long ncb = balanced_block(N, d->nc, nr);
    // Row stride of the packed K blocks: the whole packed matrix's, which may be taller than
    // the M rows (from packed_row0 on) this call computes.
    const long Mr = round_up(packed_a ? packed_rows : M, mr);

    // Workspace: packed A block (unless A comes packed), then packed B block (both offsets
    // multiples of 16 floats).
    const size_t a_floats = packed_a ? 0 : (size_t)round_up(mcb, mr) * (size_t)kcb;
    const size_t a_span = (size_t)round_up((long)a_floats, 16);
    const size_t b_floats = direct_b ? 0 : (size_t)round_up(ncb, nr) * (size_t)kcb;
    float *ws = ws_get(a_span + b_floats + 16);  // + 16: never a request for nothing (a packed A read with B in place)
    if (!ws) {
        if (packed_a) {
            gemm_naive_packed(d, kcb, Mr, packed_row0, transB, M, N, K, alpha, packed_a, B, ldb, beta, C, ldc);
        } else {
            gemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        }
        if (ep) pk_apply_epilogue(ep, C, ldc, M, N);
        return;
    }
    float *Ap = ws;
    float *Bp = ws + a_span;

    for (long jc = 0; jc < N; jc += ncb) {
        const long nc = N - jc < ncb ? N - jc : ncb;
        for (long pc = 0; pc < K; pc += kcb) {
            const long kc = K - pc < kcb ? K - pc : kcb;
            const float beta_k = pc == 0 ? beta : 1.0f;
            for (long ic = 0; ic < M; ic += mcb) {
                const long mc = M - ic < mcb ? M - ic : mcb;
                long ep_from = 0;  // the first column of this block not yet given the epilogue
                for (long jr = 0; jr < nc; jr += nr) {
                    const int n = (int)(nc - jr < nr ? nc - jr : nr);
                    float *bp = Bp + jr * kc;  // panel jr/nr, each kc*nr floats
                    const float *bd = B + pc * ldb + jc + jr;  // the panel in place (direct_b)
                    // Pack each B panel just before its first use (first ic block), while the
                    // destination lines are hot in L1; later ic blocks reuse it from L2/L3.
                    if (ic == 0 && !direct_b) d->pack_b(transB, B, ldb, pc, jc + jr, kc, n, nr, bp);
                    float *cj = C + ic * ldc + jc + jr;
                    for (long ir = 0; ir < mc; ir += mr) {
                        const int m = (int)(mc - ir < mr ? mc - ir : mr);
                        const float *ap;
                        if (packed_a) {
                            ap = packed_a + pc * Mr + (packed_row0 + ic + ir) * kc;
                        } else {
                            // Likewise each A panel is packed on the first jr pass.
                            float *dst = Ap + ir * kc;
                            if (jr == 0) d->pack_a(transA, A, lda, ic + ir, pc, m, kc, mr, dst);
                            ap = dst;
                        }
                        if (direct_b) d->kernel_strided_b(kc, ap, bd, ldb, cj + ir * ldc, ldc, m, n, alpha, beta_k);
                        else d->kernel(kc, ap, bp, cj + ir * ldc, ldc, m, n, alpha, beta_k);
                    }
                    // After the last K block the panels are complete and still in L1/L2: the
                    // epilogue runs over groups of up to PK_EPILOGUE_PANELS panels (mc rows of
                    // 128 or 256 columns), so its per-row cost is spread over many columns (per
                    // 6 × 16 tile it cost as much as the tile's products when K is small, as in
                    // MobileNetV2's 1×1 convs).
                    if (ep && pc + kc == K && (jr + n - ep_from >= PK_EPILOGUE_PANELS * nr || jr + n == nc)) {
                        pk_epilogue_tile(ep, C + ic * ldc + jc + ep_from, ldc, ic, jc + ep_from, (int)mc, (int)(jr + n - ep_from));
                        ep_from = jr + n;
                    }
                }
            }
        }
    }
}
