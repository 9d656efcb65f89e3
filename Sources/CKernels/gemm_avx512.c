// AVX-512F micro-kernel: a 12 x 32 register tile (24 zmm accumulators).
//
// Per k step the kernel loads two 16-wide vectors of the packed B panel and, for each of the 12
// rows, broadcast-loads one packed A value and issues two FMAs: 24 independent accumulation
// chains cover the FMA latency x throughput product, and only 2 vector loads + 12 broadcast
// loads are needed per 24 FMAs. 24 accumulators + 2 B vectors + 1 broadcast fit in 32 zmm.
//
// Edge tiles: the row count m (1..12) is a compile-time parameter of an always-inlined body, so
// each variant is its own straight-line function with no unused accumulators. Columns are
// covered by NZ zmm vectors plus NY (0/1) ymm vector, chosen per tile: n <= 8 -> ymm,
// n <= 16 -> zmm, n <= 24 -> zmm + ymm, else 2 zmm. On cores that split 512-bit FMAs into two
// 256-bit halves (AMD Zen 4) a ymm FMA costs half a zmm one, so e.g. the N = 49 = 32 + 17 edge
// tile costs 1.5 instead of 2 zmm-equivalents per row; elsewhere it costs the same. Partial
// columns use __mmask16 masked loads/stores.
//
// A second set of tiles reads B in place (rows ldb floats apart, masked loads of the valid
// columns) for products whose B is an activation read once per A panel and better not copied.
#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { MR = 12, NR = 32 };

#define TGT __attribute__((target("avx512f,fma")))
#define INL static inline __attribute__((always_inline)) TGT

/// C[0:16] (masked) = alpha * acc + beta * C, never reading C when beta == 0.
INL void store16(float *c, __m512 acc, __mmask16 mk, __m512 va, __m512 vb, int use_beta) {
    __m512 r = _mm512_mul_ps(acc, va);
    if (use_beta) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, c), r);
    _mm512_mask_storeu_ps(c, mk, r);
}

// Accumulator declaration, one FMA step and write-back for row I. `M_`, `NZ` and `NY` are
// compile-time constants inside tile(), so the `if`s vanish and unused accumulators cost nothing.
#define ACC_DECL(I) \
    __m512 c##I##0 = _mm512_setzero_ps(), c##I##1 = _mm512_setzero_ps(); \
    __m256 c##I##y = _mm256_setzero_ps();
#define ACC_STEP(I)                                                                   \
    if (M_ > I) {                                                                     \
        const __m512 ai = _mm512_set1_ps(a[I]);                                       \
        if (NZ > 0) c##I##0 = _mm512_fmadd_ps(ai, b0, c##I##0);                       \
        if (NZ > 1) c##I##1 = _mm512_fmadd_ps(ai, b1, c##I##1);                       \
        if (NY) c##I##y = _mm256_fmadd_ps(_mm512_castps512_ps256(ai), by, c##I##y);   \
    }
#define ACC_STORE(I)                                                                          \
    if (M_ > I) {                                                                             \
        float *ci = c + I * ldc;                                                              \
        if (NZ > 0) store16(ci, c##I##0, m0, va, vb, use_beta);                               \
        if (NZ > 1) store16(ci + 16, c##I##1, m1, va, vb, use_beta);                          \
        if (NY) store16(ci + 16 * NZ, _mm512_castps256_ps512(c##I##y), NZ ? m1 : m0, va, vb,  \
                        use_beta);                                                            \
    }
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/// m0 / m1 mask columns 0..15 / 16..31; the ymm part (columns 16*NZ .. +8) uses the mask of the
/// 16-column group it falls in (its upper 8 mask bits are zero by construction).
/// B is a packed panel (aligned rows of NR floats) unless `STRIDED` (a compile-time constant),
/// when its rows are `ldb` floats apart in the caller's matrix and only the masked columns are
/// loaded.
INL void tile(const int M_, const int NZ, const int NY, const int STRIDED, long kc, const float *a, const float *b,
              long ldb, float *c, long ldc, __mmask16 m0, __mmask16 m1, float alpha, float beta) {
    FOR_ROWS(ACC_DECL)
    const long bstep = STRIDED ? ldb : NR;
    const __mmask16 my = NZ ? m1 : m0;
    PK_UNROLL4
    for (long k = 0; k < kc; ++k) {
        const __m512 b0 = NZ > 0 ? (STRIDED ? _mm512_maskz_loadu_ps(m0, b) : _mm512_load_ps(b)) : _mm512_setzero_ps();
        const __m512 b1 = NZ > 1 ? (STRIDED ? _mm512_maskz_loadu_ps(m1, b + 16) : _mm512_load_ps(b + 16)) : b0;
        const __m256 by = !NY ? _mm256_setzero_ps()
                        : STRIDED ? _mm512_castps512_ps256(_mm512_maskz_loadu_ps(my, b + 16 * NZ))
                                  : _mm256_load_ps(b + 16 * NZ);
        FOR_ROWS(ACC_STEP)
        a += MR;
        b += bstep;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const int use_beta = beta != 0.0f;
    FOR_ROWS(ACC_STORE)
}

typedef void (*tile_fn)(long, const float *, const float *, float *, long, __mmask16, __mmask16,
                        float, float);

// Column variants, indexed by (n - 1) / 8: ymm, zmm, zmm + ymm, 2 x zmm.
#define TILE_FN(M_, V, NZ, NY)                                                                  \
    TGT static void tile_##M_##_##V(long kc, const float *a, const float *b, float *c,           \
                                    long ldc, __mmask16 m0, __mmask16 m1, float al, float be) {  \
        tile(M_, NZ, NY, 0, kc, a, b, 0, c, ldc, m0, m1, al, be);                                \
    }                                                                                            \
    TGT static void tile_strided_##M_##_##V(long kc, const float *a, const float *b, long ldb,   \
                                            float *c, long ldc, __mmask16 m0, __mmask16 m1,      \
                                            float al, float be) {                                \
        tile(M_, NZ, NY, 1, kc, a, b, ldb, c, ldc, m0, m1, al, be);                              \
    }
#define TILE_FNS(M_) TILE_FN(M_, 0, 0, 1) TILE_FN(M_, 1, 1, 0) TILE_FN(M_, 2, 1, 1) TILE_FN(M_, 3, 2, 0)
TILE_FNS(1) TILE_FNS(2) TILE_FNS(3) TILE_FNS(4) TILE_FNS(5) TILE_FNS(6)
TILE_FNS(7) TILE_FNS(8) TILE_FNS(9) TILE_FNS(10) TILE_FNS(11) TILE_FNS(12)

#define TILE_ROW(M_) {tile_##M_##_0, tile_##M_##_1, tile_##M_##_2, tile_##M_##_3},
static const tile_fn g_tiles[MR][4] = {
    TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6)
    TILE_ROW(7) TILE_ROW(8) TILE_ROW(9) TILE_ROW(10) TILE_ROW(11) TILE_ROW(12)
};

typedef void (*tile_strided_fn)(long, const float *, const float *, long, float *, long, __mmask16, __mmask16,
                                float, float);
#define TILE_STRIDED_ROW(M_) {tile_strided_##M_##_0, tile_strided_##M_##_1, tile_strided_##M_##_2, tile_strided_##M_##_3},
static const tile_strided_fn g_tiles_strided[MR][4] = {
    TILE_STRIDED_ROW(1) TILE_STRIDED_ROW(2) TILE_STRIDED_ROW(3) TILE_STRIDED_ROW(4) TILE_STRIDED_ROW(5)
    TILE_STRIDED_ROW(6) TILE_STRIDED_ROW(7) TILE_STRIDED_ROW(8) TILE_STRIDED_ROW(9) TILE_STRIDED_ROW(10)
    TILE_STRIDED_ROW(11) TILE_STRIDED_ROW(12)
};

/// Column masks of an n-column tile: m0 columns 0..15, m1 columns 16..31.
static void column_masks(int n, __mmask16 *m0, __mmask16 *m1) {
    *m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    *m1 = n >= 32 ? (__mmask16)0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1u) : (__mmask16)0;
}

static void ukernel_avx512(long kc, const float *a, const float *b, float *c, long ldc, int m,
                           int n, float alpha, float beta) {
    __mmask16 m0, m1;
    column_masks(n, &m0, &m1);
    g_tiles[m - 1][(n - 1) >> 3](kc, a, b, c, ldc, m0, m1, alpha, beta);
}

static void ukernel_strided_b_avx512(long kc, const float *a, const float *b, long ldb, float *c, long ldc,
                                     int m, int n, float alpha, float beta) {
    __mmask16 m0, m1;
    column_masks(n, &m0, &m1);
    g_tiles_strided[m - 1][(n - 1) >> 3](kc, a, b, ldb, c, ldc, m0, m1, alpha, beta);
}

static const pk_kernel_desc g_desc = {
    .mr = MR, .nr = NR,
    .kc = 256, .mc = 240, .nc = 3072,
    .kernel = ukernel_avx512,
    .kernel_strided_b = ukernel_strided_b_avx512,
    .pack_a = pk_pack_a_x86,
    .pack_b = pk_pack_b_x86,
};

const pk_kernel_desc *pk_desc_avx512(void) { return &g_desc; }

#endif
