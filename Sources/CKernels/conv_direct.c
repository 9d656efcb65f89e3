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

/// Output channels of the tile starting at channel m0 of M: DMR, except that a remainder of fewer
/// than DMR / 2 is evened out with the tile before it (16 = 8 + 8, not 12 + 4: a 4-row tile has
/// too few accumulators per load).
static long tile_rows(long M, long m0) {
    const long left = M - m0;
    return left <= DMR ? left : left < DMR + DMR / 2 ? (left + 1) / 2 : DMR;
}

size_t pk_conv_direct_packed_size(long M, long K) {
    size_t tiles = 0;
    for (long m0 = 0; m0 < M; m0 += tile_rows(M, m0)) ++tiles;
    return tiles * DMR * (size_t)K;
}

void pk_conv_direct_pack(const float *w, long M, long K, long ldw, float *dst) {
    for (long m0 = 0, rows; m0 < M; m0 += rows, dst += DMR * K) {
        rows = tile_rows(M, m0);
        for (long k = 0; k < K; ++k)
            for (long r = 0; r < DMR; ++r) dst[k * DMR + r] = r < rows ? w[(m0 + r) * ldw + k] : 0.0f;
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
        const float *a = packed;
        for (long m0 = 0, rows; m0 < M; m0 += rows, a += DMR * K) {
            rows = tile_rows(M, m0);
            t.dst[0] = dst0 + (uintptr_t)(m0 * plane_out) * fs;
            t.dst[1] = dst1 + (uintptr_t)(m0 * plane_out) * fs;
            g_tiles[rows - 1][generic][segs - 1][n > 16](taps, g->channels, a, off, &t,
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
