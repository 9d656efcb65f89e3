// Direct convolution for stride-1 "same-width" convs (output as wide as the input, e.g. 3x3
// padding 1) on AVX-512: the GEMM micro-kernel's inner product without the GEMM's B panel.
//
// Output pixels are columns, laid out image after image (column j = n * out_plane + p). A tile
// is 12 output channels x 32 columns (24 zmm accumulators). For each input channel c and kernel
// tap (i, q) the 32 input pixels the tile reads are consecutive in memory: the output pixels
// shifted by (i - padding) rows and (q - padding) columns. So the tile loads them straight from
// the image with two masked 16-lane loads, the mask zeroing lanes whose input pixel falls in the
// padding, and multiplies them by 12 broadcast weights. Nothing is unfolded or packed per call
// except the weight, so the image is read once per tile from cache and no panel is ever stored.
//
// A tile may straddle two images (out_plane >= 32 guarantees no more than two); such a tile
// loads each vector with one masked load per image. Output rows past M and columns past the end
// are masked off.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>

enum { DMR = 12, DNR = 32, MAX_TAPS = 49 };

size_t pk_conv_direct_packed_size(long M, long K) {
    return (size_t)((M + DMR - 1) / DMR) * DMR * (size_t)K;
}

void pk_conv_direct_pack(const float *w, long M, long K, long ldw, float *dst) {
    for (long m0 = 0; m0 < M; m0 += DMR) {
        float *d = dst + m0 * K;
        for (long k = 0; k < K; ++k)
            for (long r = 0; r < DMR; ++r) d[k * DMR + r] = m0 + r < M ? w[(m0 + r) * ldw + k] : 0.0f;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f")))
#define INL static inline __attribute__((always_inline)) TGT

/// Which lanes of a 32-column tile each image segment s (0, or 1 for a tile's second image)
/// holds, and for every kernel tap which of them read a pixel inside the image. They depend only
/// on where in the image the tile starts, so tiles at the same offset share them.
typedef struct {
    __mmask16 lo[2][MAX_TAPS], hi[2][MAX_TAPS];  // lanes 0-15 / 16-31 to load, per tap
    __mmask16 store_lo[2], store_hi[2];  // lanes of each segment
    long split;                          // first lane of segment 1 (n when there is none)
} tile_masks;

/// Where one tile reads and writes, per image segment.
typedef struct {
    uintptr_t src[2];                    // byte address of lane 0's pixel, channel 0, unshifted
    uintptr_t dst[2];                    // byte address of lane 0's output, row 0 of the tile
    const tile_masks *m;
} tile_lanes;

#define ACC_DECL(R) __m512 c##R##0 = _mm512_setzero_ps(), c##R##1 = _mm512_setzero_ps();
#define ACC_STEP(R)                                                   \
    if (M_ > R) {                                                     \
        const __m512 ar = _mm512_set1_ps(a[R]);                       \
        c##R##0 = _mm512_fmadd_ps(ar, b0, c##R##0);                   \
        if (NZ > 1) c##R##1 = _mm512_fmadd_ps(ar, b1, c##R##1);       \
    }
#define ACC_STORE(R)                                                                         \
    if (M_ > R) {                                                                            \
        for (int s = 0; s < SEG; ++s) {                                                      \
            const uintptr_t d = t->dst[s] + (uintptr_t)(R * plane_out);                      \
            _mm512_mask_storeu_ps((void *)d, mk->store_lo[s], c##R##0);                      \
            if (NZ > 1) _mm512_mask_storeu_ps((void *)(d + 64), mk->store_hi[s], c##R##1);   \
        }                                                                                    \
    }
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/// One tile: M_ (1..12) output channels, NZ (1..2) column vectors, SEG (1..2) images, TAPS (9
/// for 3x3, or 0 = `taps` at run time). `a` is the tile's 12-row weight panel, `off` the byte
/// shift of each tap, `plane_in` / `plane_out` the bytes between channels of x / y.
INL void tile(const int M_, const int NZ, const int SEG, const int TAPS, int taps, long channels,
              const float *a, const intptr_t *off, const tile_lanes *t, intptr_t plane_in,
              intptr_t plane_out) {
    const int nt = TAPS ? TAPS : taps;
    const tile_masks *mk = t->m;
    FOR_ROWS(ACC_DECL)
    uintptr_t s0 = t->src[0], s1 = SEG > 1 ? t->src[1] : 0;
    for (long c = 0; c < channels; ++c) {
        for (int q = 0; q < nt; ++q) {
            const intptr_t o = off[q];
            __m512 b0 = _mm512_maskz_loadu_ps(mk->lo[0][q], (const void *)(s0 + o));
            __m512 b1 = NZ > 1 ? _mm512_maskz_loadu_ps(mk->hi[0][q], (const void *)(s0 + o + 64)) : b0;
            if (SEG > 1) {
                b0 = _mm512_mask_loadu_ps(b0, mk->lo[1][q], (const void *)(s1 + o));
                if (NZ > 1) b1 = _mm512_mask_loadu_ps(b1, mk->hi[1][q], (const void *)(s1 + o + 64));
            }
            FOR_ROWS(ACC_STEP)
            a += DMR;
        }
        s0 += plane_in;
        if (SEG > 1) s1 += plane_in;
    }
    FOR_ROWS(ACC_STORE)
}

typedef void (*tile_fn)(int, long, const float *, const intptr_t *, const tile_lanes *, intptr_t, intptr_t);

#define TILE_FN(M_, NZ, SEG, TAPS)                                                                  \
    TGT static void tile_##M_##_##NZ##_##SEG##_##TAPS(int taps, long ch, const float *a,             \
                                                      const intptr_t *off, const tile_lanes *t,      \
                                                      intptr_t pi, intptr_t po) {                   \
        tile(M_, NZ, SEG, TAPS, taps, ch, a, off, t, pi, po);                                       \
    }
#define TILE_FNS(M_) TILE_FN(M_, 1, 1, 9) TILE_FN(M_, 2, 1, 9) TILE_FN(M_, 1, 2, 9) TILE_FN(M_, 2, 2, 9) \
                     TILE_FN(M_, 1, 1, 0) TILE_FN(M_, 2, 1, 0) TILE_FN(M_, 1, 2, 0) TILE_FN(M_, 2, 2, 0)
TILE_FNS(1) TILE_FNS(2) TILE_FNS(3) TILE_FNS(4) TILE_FNS(5) TILE_FNS(6) TILE_FNS(7) TILE_FNS(8) TILE_FNS(9) TILE_FNS(10) TILE_FNS(11) TILE_FNS(12)

// g_tiles[rows - 1][generic taps][segments - 1][vectors - 1]
#define TILE_ROW(M_) {{{tile_##M_##_1_1_9, tile_##M_##_2_1_9}, {tile_##M_##_1_2_9, tile_##M_##_2_2_9}}, \
                      {{tile_##M_##_1_1_0, tile_##M_##_2_1_0}, {tile_##M_##_1_2_0, tile_##M_##_2_2_0}}},
static const tile_fn g_tiles[DMR][2][2][2] = {
    TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6) TILE_ROW(7) TILE_ROW(8) TILE_ROW(9) TILE_ROW(10) TILE_ROW(11) TILE_ROW(12)
};

/// The masks of a tile of n (1..32) columns whose first column is pixel p of an image.
static void tile_masks_at(tile_masks *t, const pk_conv_shape *g, long p, long n) {
    const long W = g->width, H = g->height, plane = g->out_h * W, pad = g->padding;
    const int kh = (int)g->kernel_h, kw = (int)g->kernel_w;
    uint32_t row_ok[7] = {0}, col_ok[7] = {0}, seg_bits[2] = {0, 0};
    long yy = p / W, xx = p % W;
    int seg = 0;
    t->split = n;
    for (long l = 0; l < n; ++l) {
        if (l > 0 && p == 0) { seg = 1; t->split = l; }
        seg_bits[seg] |= 1u << l;
        for (int i = 0; i < kh; ++i) row_ok[i] |= (uint32_t)((unsigned long)(yy + i - pad) < (unsigned long)H) << l;
        for (int q = 0; q < kw; ++q) col_ok[q] |= (uint32_t)((unsigned long)(xx + q - pad) < (unsigned long)W) << l;
        if (++xx == W) { xx = 0; ++yy; }
        if (++p == plane) { p = 0; yy = 0; }
    }
    for (int s = 0; s < 2; ++s) {
        t->store_lo[s] = (__mmask16)(seg_bits[s] & 0xFFFF);
        t->store_hi[s] = (__mmask16)(seg_bits[s] >> 16);
        for (int i = 0; i < kh; ++i) {
            for (int q = 0; q < kw; ++q) {
                const uint32_t m = row_ok[i] & col_ok[q] & seg_bits[s];
                t->lo[s][i * kw + q] = (__mmask16)(m & 0xFFFF);
                t->hi[s][i * kw + q] = (__mmask16)(m >> 16);
            }
        }
    }
}

static long gcd(long a, long b) {
    while (b) { const long r = a % b; a = b; b = r; }
    return a;
}

TGT static int conv_direct_avx512(const float *packed, long M, const pk_conv_shape *g, const float *x,
                                  long x_image_stride, long j0, long j1, float *y, long y_image_stride) {
    const long W = g->width, plane_in = g->height * W, plane_out = g->out_h * W, pad = g->padding;
    const int kh = (int)g->kernel_h, kw = (int)g->kernel_w, taps = kh * kw;
    const long K = g->channels * taps;
    intptr_t off[MAX_TAPS];
    for (int i = 0; i < kh; ++i)
        for (int q = 0; q < kw; ++q) off[i * kw + q] = (intptr_t)(((i - pad) * W + (q - pad)) * (long)sizeof(float));
    const int generic = !(kh == 3 && kw == 3);
    // Full tiles starting `phases` tiles apart start at the same pixel of an image, so their
    // masks are computed once when the range has many more tiles than that.
    const long phases = plane_out / gcd(plane_out, DNR), full = (j1 - j0) / DNR;
    tile_masks *table = NULL;
    if (full >= 2 * phases && phases <= 1024) {
        table = (tile_masks *)malloc((size_t)phases * sizeof(tile_masks));
        if (!table) return 0;
        for (long k = 0; k < phases; ++k) tile_masks_at(&table[k], g, (j0 + k * DNR) % plane_out, DNR);
    }
    tile_masks own;
    const uintptr_t xb = (uintptr_t)x, yb = (uintptr_t)y, fs = sizeof(float);
    for (long j = j0, k = 0; j < j1; j += DNR, ++k) {
        const long n = j1 - j < DNR ? j1 - j : DNR, img = j / plane_out, p = j % plane_out;
        tile_lanes t = {{0, 0}, {0, 0}, NULL};
        if (table && n == DNR) {
            t.m = &table[k % phases];
        } else {
            tile_masks_at(&own, g, p, n);
            t.m = &own;
        }
        // Lane 0's addresses; segment 1's lane 0 sits `split` pixels before the next image's pixel 0.
        t.src[0] = xb + (uintptr_t)(img * x_image_stride + p) * fs;
        t.dst[0] = yb + (uintptr_t)(img * y_image_stride + p) * fs;
        const int segs = t.m->split < n ? 2 : 1;
        if (segs == 2) {
            t.src[1] = xb + (uintptr_t)((img + 1) * x_image_stride - t.m->split) * fs;
            t.dst[1] = yb + (uintptr_t)((img + 1) * y_image_stride - t.m->split) * fs;
        }
        const uintptr_t dst0 = t.dst[0], dst1 = t.dst[1];
        for (long m0 = 0; m0 < M; m0 += DMR) {
            const long rows = M - m0 < DMR ? M - m0 : DMR;
            t.dst[0] = dst0 + (uintptr_t)(m0 * plane_out) * fs;
            t.dst[1] = dst1 + (uintptr_t)(m0 * plane_out) * fs;
            g_tiles[rows - 1][generic][segs - 1][n > 16](taps, g->channels, packed + m0 * K, off, &t,
                                                         (intptr_t)(plane_in * (long)sizeof(float)),
                                                         (intptr_t)(plane_out * (long)sizeof(float)));
        }
    }
    free(table);
    return 1;
}
#endif

int pk_conv_direct(int level, const float *packed, long M, const pk_conv_shape *g, const float *x,
                   long x_image_stride, long j0, long j1, float *y, long y_image_stride) {
#if defined(__x86_64__)
    if (!pk_conv_direct_supports(level, g)) return 0;
    if (M <= 0 || j1 <= j0) return 1;
    return conv_direct_avx512(packed, M, g, x, x_image_stride, j0, j1, y, y_image_stride);
#else
    (void)level; (void)packed; (void)M; (void)g; (void)x; (void)x_image_stride; (void)j0; (void)j1; (void)y;
    (void)y_image_stride;
    return 0;
#endif
}

int pk_conv_direct_supports(int level, const pk_conv_shape *g) {
#if defined(__x86_64__)
    // 1x1 convs without padding are plain GEMMs on the input itself: left to the GEMM kernels.
    const int pointwise = g->kernel_h == 1 && g->kernel_w == 1 && g->padding == 0;
    return level >= 2 && g->stride == 1 && g->out_w == g->width && g->kernel_h <= 7 && g->kernel_w <= 7
        && g->out_h * g->out_w >= DNR && g->channels > 0 && !pointwise;
#else
    (void)level; (void)g;
    return 0;
#endif
}

// ---- Weight gradient of a 3x3 stride-1 same-width conv ----
//
// dW[o][c][t] = sum over images n and output pixels p of gy[n][o][p] * x[n][c][p + shift_t]
// (zero where the shifted pixel is padding). The sum runs over pixels in 16-lane vectors: for
// two output channels and one input channel, 18 accumulators (2 x 9 taps) take one vector of
// each gy plane and nine masked, shifted vectors of the input plane per step, and are reduced to
// scalars once per block of images. No column matrix is unfolded and nothing is packed.

enum { WG_TAPS = 9, WG_IMAGES = 8, WG_VECTORS = 128, WG_ROWS = 3 };

#if defined(__x86_64__)
#define WACC_DECL(T) __m512 a0##T = _mm512_setzero_ps(), a1##T = _mm512_setzero_ps(), a2##T = _mm512_setzero_ps();
#define WACC_STEP(T)                                                                            \
    {                                                                                           \
        const __m512 xv = _mm512_maskz_loadu_ps(mk[T], (const void *)(xp + off[T]));           \
        a0##T = _mm512_fmadd_ps(g0, xv, a0##T);                                                 \
        if (OB > 1) a1##T = _mm512_fmadd_ps(g1, xv, a1##T);                                    \
        if (OB > 2) a2##T = _mm512_fmadd_ps(g2, xv, a2##T);                                    \
    }
#define FOR_TAPS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)

/// d[t] += the sum of v_t's lanes, for the 9 taps: the first 8 by a transposing add tree (one
/// 8-lane result), the ninth alone.
__attribute__((noinline)) TGT static void add_tap_sums(float *d, const __m512 *v) {
    const __m512 v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3], v4 = v[4], v5 = v[5], v6 = v[6], v7 = v[7], v8 = v[8];
#define HALVES(V) _mm256_add_ps(_mm512_castps512_ps256(V), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(V), 1)))
    const __m256 t0 = _mm256_hadd_ps(HALVES(v0), HALVES(v1)), t1 = _mm256_hadd_ps(HALVES(v2), HALVES(v3));
    const __m256 t2 = _mm256_hadd_ps(HALVES(v4), HALVES(v5)), t3 = _mm256_hadd_ps(HALVES(v6), HALVES(v7));
#undef HALVES
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    // u0 = [s0 s1 s2 s3 | s0 s1 s2 s3] halves of the sums (low/high 128-bit lanes), u1 likewise for s4..s7.
    const __m256 sums = _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
    _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), sums));
    d[8] += _mm512_reduce_add_ps(v8);
}

/// OB (1..3) output channels o.. o + OB - 1 and one input channel: adds into their 9 taps, d[b * K + t].
/// `gy0` / `xc` are image n0's planes; masks[v * 10 + t] are vector v's lanes for tap t, and
/// masks[v * 10 + 9] its lanes inside the plane.
INL void wgrad_block(const int OB, const float *gy0, long gy_image_stride, long plane_out, uintptr_t xc,
                     intptr_t x_image_bytes, long images, long vectors, const __mmask16 *masks,
                     const intptr_t *off, float *d0, long K) {
    FOR_TAPS(WACC_DECL)
    for (long n = 0; n < images; ++n) {
        const float *gp = gy0 + n * gy_image_stride;
        uintptr_t xp = xc + (uintptr_t)(n * x_image_bytes);
        for (long v = 0; v < vectors; ++v, xp += 64) {
            const __mmask16 *mk = masks + v * 10;
            const __m512 g0 = _mm512_maskz_loadu_ps(mk[9], gp + v * 16);
            const __m512 g1 = OB > 1 ? _mm512_maskz_loadu_ps(mk[9], gp + plane_out + v * 16) : g0;
            const __m512 g2 = OB > 2 ? _mm512_maskz_loadu_ps(mk[9], gp + 2 * plane_out + v * 16) : g0;
            FOR_TAPS(WACC_STEP)
        }
    }
    // Spilled first and reduced out of line, so the reduction's registers do not crowd the loop's.
    __m512 acc[3][WG_TAPS];
#define WACC_SPILL(T) acc[0][T] = a0##T; if (OB > 1) acc[1][T] = a1##T; if (OB > 2) acc[2][T] = a2##T;
    FOR_TAPS(WACC_SPILL)
#undef WACC_SPILL
    for (int b = 0; b < OB; ++b) add_tap_sums(d0 + b * K, acc[b]);
}

typedef void (*wgrad_fn)(const float *, long, long, uintptr_t, intptr_t, long, long, const __mmask16 *,
                         const intptr_t *, float *, long);
#define WGRAD_FN(OB)                                                                                  \
    __attribute__((noinline)) TGT static void wgrad_##OB(const float *g, long gs, long po, uintptr_t xc, \
                                                         intptr_t xb, long n, long nv, const __mmask16 *m, \
                                                         const intptr_t *off, float *d0, long K) {       \
        wgrad_block(OB, g, gs, po, xc, xb, n, nv, m, off, d0, K);                                     \
    }
WGRAD_FN(1) WGRAD_FN(2) WGRAD_FN(3)
static const wgrad_fn g_wgrad[3] = {wgrad_1, wgrad_2, wgrad_3};

TGT static int wgrad_avx512(const pk_conv_shape *g, long M, const float *x, long x_image_stride,
                            const float *gy, long gy_image_stride, long images, float *dw) {
    const long W = g->width, H = g->height, plane_in = H * W, plane_out = g->out_h * W, pad = g->padding;
    const long C = g->channels, K = C * WG_TAPS, vectors = (plane_out + 15) / 16;
    __mmask16 *masks = (__mmask16 *)malloc((size_t)vectors * 10 * sizeof(__mmask16));
    if (!masks) return 0;
    intptr_t off[WG_TAPS];
    for (int i = 0; i < 3; ++i)
        for (int q = 0; q < 3; ++q) off[i * 3 + q] = (intptr_t)(((i - pad) * W + (q - pad)) * (long)sizeof(float));
    for (long v = 0; v < vectors; ++v) {
        uint32_t inside = 0, row_ok[3] = {0}, col_ok[3] = {0};
        for (int l = 0; l < 16; ++l) {
            const long p = v * 16 + l, yy = p / W, xx = p % W;
            if (p >= plane_out) break;
            inside |= 1u << l;
            for (int i = 0; i < 3; ++i) row_ok[i] |= (uint32_t)((unsigned long)(yy + i - pad) < (unsigned long)H) << l;
            for (int q = 0; q < 3; ++q) col_ok[q] |= (uint32_t)((unsigned long)(xx + q - pad) < (unsigned long)W) << l;
        }
        for (int t = 0; t < WG_TAPS; ++t) masks[v * 10 + t] = (__mmask16)(row_ok[t / 3] & col_ok[t % 3] & inside);
        masks[v * 10 + 9] = (__mmask16)inside;
    }
    const intptr_t x_image_bytes = (intptr_t)(x_image_stride * (long)sizeof(float));
    // Blocks of images with at least WG_VECTORS pixel vectors, so the reductions stay rare.
    const long block = vectors * WG_IMAGES >= WG_VECTORS ? WG_IMAGES : (WG_VECTORS + vectors - 1) / vectors;
    for (long n0 = 0; n0 < images; n0 += block) {
        const long nb = images - n0 < block ? images - n0 : block;
        // Blocks of 3 output channels; a remainder of 1 becomes two blocks of 2 (one channel
        // alone loads a vector per 9 FMAs, load-bound).
        for (long o = 0, rows; o < M; o += rows) {
            rows = M - o == 4 ? 2 : M - o < WG_ROWS ? M - o : WG_ROWS;
            const float *g0 = gy + n0 * gy_image_stride + o * plane_out;
            for (long c = 0; c < C; ++c) {
                const uintptr_t xc = (uintptr_t)(x + n0 * x_image_stride + c * plane_in);
                g_wgrad[rows - 1](g0, gy_image_stride, plane_out, xc, x_image_bytes, nb, vectors, masks, off,
                                  dw + o * K + c * WG_TAPS, K);
            }
        }
    }
    free(masks);
    return 1;
}
#endif

int pk_conv_direct_weight_grad_supports(int level, const pk_conv_shape *g) {
    return pk_conv_direct_supports(level, g) && g->kernel_h == 3 && g->kernel_w == 3;
}

int pk_conv_direct_weight_grad(int level, const pk_conv_shape *g, long M, const float *x, long x_image_stride,
                               const float *gy, long gy_image_stride, long images, float *dw) {
#if defined(__x86_64__)
    if (!pk_conv_direct_weight_grad_supports(level, g)) return 0;
    if (M <= 0 || images <= 0) return 1;
    return wgrad_avx512(g, M, x, x_image_stride, gy, gy_image_stride, images, dw);
#else
    (void)level; (void)g; (void)M; (void)x; (void)x_image_stride; (void)gy; (void)gy_image_stride; (void)images;
    (void)dw;
    return 0;
#endif
}
