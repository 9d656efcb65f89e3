// AVX2+FMA micro-kernel: a 6 x 16 register tile (12 ymm accumulators).
//
// Same scheme as the AVX-512 kernel with 16 registers: per k step two 8-wide B loads, six
// broadcasts of packed A values and 12 FMAs (12 accumulators + 2 B vectors + 1 broadcast = 15
// registers). Row counts 1..6 are compile-time variants; partial column counts use
// vmaskmov loads/stores of C (only on the edge vectors; full vectors use plain stores).
// A second set of tiles reads B in place (rows ldb floats apart; vmaskmov loads of the valid
// columns in edge tiles) for products whose B is an activation better not copied.
#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { MR = 6, NR = 16 };

#define TGT __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline)) TGT

/// -1 in the first 8 entries, 0 after: loading 8 ints at (8 - n) gives a mask of n lanes.
static const int g_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// C[0:cnt] = alpha * acc + beta * C for cnt in 0..8 lanes, never reading C when beta == 0.
INL void store8(float *c, __m256 acc, int cnt, __m256 va, __m256 vb, int use_beta) {
    __m256 r = _mm256_mul_ps(acc, va);
    if (cnt >= 8) {
        if (use_beta) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), r);
        _mm256_storeu_ps(c, r);
    } else if (cnt > 0) {
        const __m256i mk = _mm256_loadu_si256((const __m256i *)(g_mask_src + 8 - cnt));
        if (use_beta) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c, mk), r);
        _mm256_maskstore_ps(c, mk, r);
    }
}

#define ACC_DECL(I) __m256 c##I##0 = _mm256_setzero_ps(), c##I##1 = _mm256_setzero_ps();
#define ACC_STEP(I)                                                   \
    if (M_ > I) {                                                     \
        const __m256 ai = _mm256_broadcast_ss(a + I);                 \
        c##I##0 = _mm256_fmadd_ps(ai, b0, c##I##0);                   \
        if (NV > 1) c##I##1 = _mm256_fmadd_ps(ai, b1, c##I##1);       \
    }
#define ACC_STORE(I)                                                          \
    if (M_ > I) {                                                             \
        store8(c + I * ldc, c##I##0, n0, va, vb, use_beta);                   \
        if (NV > 1) store8(c + I * ldc + 8, c##I##1, n1, va, vb, use_beta);   \
    }
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

/// B is a packed panel (aligned rows of NR floats) unless `STRIDED` (a compile-time constant
/// as are the others): rows `ldb` floats apart in the caller's matrix, loaded whole when
/// `MASKED` is 0 (n is 8 or 16) and otherwise with vmaskmov of the n0 + n1 valid columns only.
INL void tile(const int M_, const int NV, const int STRIDED, const int MASKED, long kc, const float *a,
              const float *b, long ldb, float *c, long ldc, int n0, int n1, float alpha, float beta) {
    FOR_ROWS(ACC_DECL)
    const long bstep = STRIDED ? ldb : NR;
    const __m256i mk0 = _mm256_loadu_si256((const __m256i *)(g_mask_src + 8 - n0));
    const __m256i mk1 = _mm256_loadu_si256((const __m256i *)(g_mask_src + 8 - n1));
    PK_UNROLL4
    for (long k = 0; k < kc; ++k) {
        const __m256 b0 = !STRIDED ? _mm256_load_ps(b) : MASKED ? _mm256_maskload_ps(b, mk0) : _mm256_loadu_ps(b);
        const __m256 b1 = NV < 2 ? b0
                        : !STRIDED ? _mm256_load_ps(b + 8)
                        : MASKED ? _mm256_maskload_ps(b + 8, mk1) : _mm256_loadu_ps(b + 8);
        FOR_ROWS(ACC_STEP)
        a += MR;
        b += bstep;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const int use_beta = beta != 0.0f;
    FOR_ROWS(ACC_STORE)
}

typedef void (*tile_fn)(long, const float *, const float *, float *, long, int, int, float,
                        float);

#define TILE_FN(M_, NV)                                                                            \
    TGT static void tile_##M_##_##NV(long kc, const float *a, const float *b, float *c,             \
                                     long ldc, int n0, int n1, float al, float be) {                \
        tile(M_, NV, 0, 0, kc, a, b, 0, c, ldc, n0, n1, al, be);                                    \
    }                                                                                               \
    TGT static void tile_strided_##M_##_##NV(long kc, const float *a, const float *b, long ldb,     \
                                             float *c, long ldc, int n0, int n1, float al,          \
                                             float be) {                                            \
        tile(M_, NV, 1, 0, kc, a, b, ldb, c, ldc, n0, n1, al, be);                                  \
    }                                                                                               \
    TGT static void tile_masked_##M_##_##NV(long kc, const float *a, const float *b, long ldb,      \
                                            float *c, long ldc, int n0, int n1, float al,           \
                                            float be) {                                             \
        tile(M_, NV, 1, 1, kc, a, b, ldb, c, ldc, n0, n1, al, be);                                  \
    }
#define TILE_FNS(M_) TILE_FN(M_, 1) TILE_FN(M_, 2)
TILE_FNS(1) TILE_FNS(2) TILE_FNS(3) TILE_FNS(4) TILE_FNS(5) TILE_FNS(6)

#define TILE_ROW(M_) {tile_##M_##_1, tile_##M_##_2},
static const tile_fn g_tiles[MR][2] = {
    TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6)
};

static void ukernel_avx2(long kc, const float *a, const float *b, float *c, long ldc, int m,
                         int n, float alpha, float beta) {
    const int n0 = n >= 8 ? 8 : n;
    const int n1 = n >= 16 ? 8 : n > 8 ? n - 8 : 0;
    g_tiles[m - 1][n > 8](kc, a, b, c, ldc, n0, n1, alpha, beta);
}

typedef void (*tile_strided_fn)(long, const float *, const float *, long, float *, long, int, int, float, float);
#define TILE_STRIDED_ROW(M_) {{tile_strided_##M_##_1, tile_strided_##M_##_2}, {tile_masked_##M_##_1, tile_masked_##M_##_2}},
/// [rows - 1][masked][two vectors]
static const tile_strided_fn g_tiles_strided[MR][2][2] = {
    TILE_STRIDED_ROW(1) TILE_STRIDED_ROW(2) TILE_STRIDED_ROW(3) TILE_STRIDED_ROW(4) TILE_STRIDED_ROW(5) TILE_STRIDED_ROW(6)
};

static void ukernel_strided_b_avx2(long kc, const float *a, const float *b, long ldb, float *c, long ldc, int m,
                                   int n, float alpha, float beta) {
    const int n0 = n >= 8 ? 8 : n;
    const int n1 = n >= 16 ? 8 : n > 8 ? n - 8 : 0;
    g_tiles_strided[m - 1][n != 8 && n != 16][n > 8](kc, a, b, ldb, c, ldc, n0, n1, alpha, beta);
}

static const pk_kernel_desc g_desc = {
    .mr = MR, .nr = NR,
    .kc = 256, .mc = 192, .nc = 3072,
    .kernel = ukernel_avx2,
    .kernel_strided_b = ukernel_strided_b_avx2,
    .pack_a = pk_pack_a_x86,
    .pack_b = pk_pack_b_x86,
};

const pk_kernel_desc *pk_desc_avx2(void) { return &g_desc; }

#endif
