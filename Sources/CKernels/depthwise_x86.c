// Depthwise convolution forward of one plane at the AVX-512 and AVX2 levels, reading the input
// plane where it lies and writing each output row in place: no bordered copy of the input and no
// output grid to copy back (depthwise.c's portable kernel, whose row copies took a third of its
// time on MobileNetV2's planes).
//
// The output is computed in vectors (16 or 8 consecutive output columns), R output rows together
// (four for 3x3 kernels; one for other kernels, whose loops are not unrolled): each input row the
// R rows' windows cover is loaded once per kernel column and feeds every one of the R
// accumulators whose window holds it. AVX-512 then moves along the row, so the output is written
// row after row (1.04x on MobileNetV2 at batch 64 against going down one column of vectors, whose
// every store started a line of a plane not in cache); AVX2 goes down the column (the row order
// measured 0.97x there).
//
// Lanes whose input column lies outside the row read zero through masked loads, which never
// touch a masked-off lane's address; padding rows read a static row of zeros. Stride 2 loads
// twice the lanes at even kernel columns and keeps the even ones (one permute); the odd kernel
// columns are the odd lanes of the same pair (one permute, no load: a third fewer loads, which
// bound these layers); other strides use depthwise.c. Every output sums its taps in
// depthwise.c's order, acc = fma(w[t], x, acc) from zero (kernel row, then column), padding taps
// included as zeros, so the result is depthwise.c's at the same level bit for bit, NaN and
// signed zeros too.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { DX_ZEROS = 8192, DX_ZERO_LEAD = 64, DX_SAVED_VECTORS = 64 };

/// The input row that padding rows read: zeros, wide enough for any plane that
/// pk_depthwise_direct_suits admits, `DX_ZERO_LEAD` of them before the row's column 0.
static const float dx_zeros[DX_ZEROS];

/// Bits [lo, hi) of a mask of `lanes` bits, the range clamped to the lanes.
static inline uint32_t lane_bits(long lo, long hi, int lanes) {
    if (lo < 0) lo = 0;
    if (hi > lanes) hi = lanes;
    if (hi <= lo) return 0;
    return (uint32_t)(((1ull << hi) - 1) & ~((1ull << lo) - 1));
}

/// Lane bits of vector position `v` along an output row and each kernel column `q`: the loaded
/// lanes (2 * lanes bits for stride 2) whose input column lies inside the row. Returns whether
/// every lane of every column is inside (no mask needed).
static int column_bits(const pk_conv_shape *g, int lanes, long v, uint32_t *bits) {
    const long s = g->stride;
    const uint32_t all = (uint32_t)((1ull << (lanes * s)) - 1);
    int inside = 1;
    for (long q = 0; q < g->kernel_w; ++q) {
        const long base = v * lanes * s - g->padding + q;  // input column of the first loaded lane
        bits[q] = lane_bits(-base, g->width - base, lanes * (int)s);
        inside &= bits[q] == all;
    }
    return inside;
}

int pk_depthwise_direct_suits(const pk_conv_shape *g) {
    // The loads of a row span columns -padding .. stride * (out_w rounded up to 16) + kernel_w.
    return (g->stride == 1 || g->stride == 2) && g->kernel_h * g->kernel_w <= 49 && g->padding <= DX_ZERO_LEAD / 2 &&
           g->stride * (g->out_w + 16) + g->kernel_w + DX_ZERO_LEAD <= DX_ZEROS;
}

// MARK: AVX-512

#define T512 __attribute__((target("avx512f")))
#define INL512 static inline __attribute__((always_inline)) T512

/// Lanes [0, 16) of input columns `src[0..]`, lanes outside `m` read as zero; `full` when every
/// lane is inside.
INL512 __m512 load512(const float *src, int full, __mmask16 m) {
    return full ? _mm512_loadu_ps(src) : _mm512_maskz_loadu_ps(m, src);
}

/// Output rows [oy0, oy0 + R) of vector position `x0`: each input row the group reads is loaded
/// once per kernel column and feeds every output row whose window holds it (a row's taps still
/// add in order: kernel row i, then column q). `inside` when no column needs a mask; padding rows
/// read `zero_row`.
INL512 void rows512(const float *x, const __m512 *wt, const pk_conv_shape *g, const pk_plane_affine *a, float *y,
                    long oy0, long x0, int inside, const __mmask16 *lo, const __mmask16 *hi, __mmask16 store,
                    const int R, const int KH, const int KW, const long S) {
    const long H = g->height, W = g->width, p = g->padding, ow = g->out_w;
    const float *zero_row = dx_zeros + DX_ZERO_LEAD;
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 acc[4];
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    for (int j = 0; j < (R - 1) * S + KH; ++j) {
        const long iy = oy0 * S - p + j;
        const float *src = (iy >= 0 && iy < H ? x + iy * W : zero_row) + x0 * S - p;
        __m512 first = _mm512_setzero_ps(), second = first;  // stride 2: the 32 columns from src + q
        for (int q = 0; q < KW; ++q) {
            __m512 in;
            if (S == 1) {
                in = load512(src + q, inside, lo[q]);
            } else if (q % 2 == 0) {
                first = load512(src + q, inside, lo[q]);
                second = load512(src + q + 16, inside, hi[q]);
                in = _mm512_permutex2var_ps(first, evens, second);
            } else {
                // Column q + 2l is the odd lane 2l + 1 of the pair loaded at q - 1 (whose masks
                // cover the same columns).
                in = _mm512_permutex2var_ps(first, odds, second);
            }
            for (int r = 0; r < R; ++r) {
                const int i = j - r * (int)S;
                if (i >= 0 && i < KH) acc[r] = _mm512_fmadd_ps(wt[i * KW + q], in, acc[r]);
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        __m512 out = acc[r];
        if (a) {
            // max(lower, v) and min(upper, v) return v when it is NaN, as depthwise.c's clamp.
            out = _mm512_fmadd_ps(out, _mm512_set1_ps(a->scale), _mm512_set1_ps(a->shift));
            out = _mm512_min_ps(_mm512_set1_ps(a->upper), _mm512_max_ps(_mm512_set1_ps(a->lower), out));
        }
        _mm512_mask_storeu_ps(y + (oy0 + r) * ow + x0, store, out);
    }
}

/// The masks of vector position `v` (its first column `16 v`): per kernel column, the loaded
/// lanes inside the row (`lo`, and `hi` for stride 2's second vector), and the lanes to store.
/// Returns whether every loaded lane is inside.
INL512 int masks512(const pk_conv_shape *g, long v, __mmask16 *lo, __mmask16 *hi, __mmask16 *store) {
    uint32_t bits[49];
    const int inside = column_bits(g, 16, v, bits);
    for (int q = 0; q < g->kernel_w; ++q) lo[q] = (__mmask16)bits[q], hi[q] = (__mmask16)(bits[q] >> 16);
    *store = (__mmask16)lane_bits(0, g->out_w - v * 16, 16);
    return inside;
}

/// The plane for a kernel of KH x KW taps at stride S, constants where the caller passes them:
/// the 3x3 kernels unroll whole, their weights held in registers. R output rows at a time, all
/// vector positions of those rows before the next R, so the output is written row after row
/// (down one column of vectors instead, every store started a new line of a plane not in cache).
INL512 void direct512(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a, float *y,
                      const int R, const int KH, const int KW, const long S) {
    const long oh = g->out_h, nv = (g->out_w + 15) / 16;
    __m512 wt[49];
    for (int t = 0; t < KH * KW; ++t) wt[t] = _mm512_set1_ps(w[t]);
    // Each vector position's masks, once per plane where the row is at most DX_SAVED_VECTORS
    // vectors wide (1024 columns), else again for each group of rows.
    __mmask16 lo[DX_SAVED_VECTORS][49], hi[DX_SAVED_VECTORS][49], store[DX_SAVED_VECTORS];
    int inside[DX_SAVED_VECTORS];
    const int saved = nv <= DX_SAVED_VECTORS;
    if (saved)
        for (long v = 0; v < nv; ++v) inside[v] = masks512(g, v, lo[v], hi[v], &store[v]);
    for (long oy = 0; oy < oh;) {
        const int rows = oy + R <= oh ? R : 1;
        for (long v = 0; v < nv; ++v) {
            const long m = saved ? v : 0;
            if (!saved) inside[0] = masks512(g, v, lo[0], hi[0], &store[0]);
            if (rows == R) {
                rows512(x, wt, g, a, y, oy, v * 16, inside[m], lo[m], hi[m], store[m], R, KH, KW, S);
            } else {
                rows512(x, wt, g, a, y, oy, v * 16, inside[m], lo[m], hi[m], store[m], 1, KH, KW, S);
            }
        }
        oy += rows;
    }
}

T512 void pk_depthwise_direct_avx512(const float *x, const float *w, const pk_conv_shape *g,
                                     const pk_plane_affine *a, float *y) {
    const int kh = (int)g->kernel_h, kw = (int)g->kernel_w;
    if (kh == 3 && kw == 3) {
        if (g->stride == 1) direct512(x, w, g, a, y, 4, 3, 3, 1); else direct512(x, w, g, a, y, 4, 3, 3, 2);
    } else {
        if (g->stride == 1) direct512(x, w, g, a, y, 1, kh, kw, 1); else direct512(x, w, g, a, y, 1, kh, kw, 2);
    }
}

// MARK: AVX2

#define T256 __attribute__((target("avx2,fma")))
#define INL256 static inline __attribute__((always_inline)) T256

/// Lanes 0-7 of `bits` as an 8-lane mask (all bits of a lane set or clear).
INL256 __m256i mask8(uint32_t bits) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)(bits & 0xFF)), bit), bit);
}

/// load512's 8-lane form; vmaskmovps never touches a masked-off lane's address.
INL256 __m256 load256(const float *src, int full, __m256i m) {
    return full ? _mm256_loadu_ps(src) : _mm256_maskload_ps(src, m);
}

/// The even (`ODD` 0) or odd (1) lanes of the 16 columns a, b: [a0 a2 b0 b2 | a4 a6 b4 b6] ->
/// [a0 a2 a4 a6 b0 b2 b4 b6].
INL256 __m256 half256(__m256 a, __m256 b, const int ODD) {
    const __m256 lanes = ODD ? _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)) : _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(lanes), _MM_SHUFFLE(3, 1, 2, 0)));
}

/// The first `n` (1..8) lanes of `v` to `dst`, by plain stores (vmaskmovps stores are microcoded
/// on AMD cores, tens of cycles each).
INL256 void store_first(float *dst, __m256 v, long n) {
    if (n >= 8) { _mm256_storeu_ps(dst, v); return; }
    __m128 part = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(dst, part);
        dst += 4, n -= 4, part = _mm256_extractf128_ps(v, 1);
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)dst, part);
        dst += 2, n -= 2, part = _mm_movehl_ps(part, part);
    }
    if (n == 1) _mm_store_ss(dst, part);
}

/// rows512's 8-lane form.
INL256 void rows256(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a, float *y,
                    long oy0, long x0, int inside, const __m256i *lo, const __m256i *hi,
                    const int R, const int KH, const int KW, const long S) {
    const long H = g->height, W = g->width, p = g->padding, ow = g->out_w;
    const float *zero_row = dx_zeros + DX_ZERO_LEAD;
    __m256 acc[4];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (int j = 0; j < (R - 1) * S + KH; ++j) {
        const long iy = oy0 * S - p + j;
        const float *src = (iy >= 0 && iy < H ? x + iy * W : zero_row) + x0 * S - p;
        __m256 first = _mm256_setzero_ps(), second = first;  // stride 2, as rows512
        for (int q = 0; q < KW; ++q) {
            __m256 in;
            if (S == 1) {
                in = load256(src + q, inside, lo[q]);
            } else if (q % 2 == 0) {
                first = load256(src + q, inside, lo[q]);
                second = load256(src + q + 8, inside, hi[q]);
                in = half256(first, second, 0);
            } else {
                in = half256(first, second, 1);
            }
            for (int r = 0; r < R; ++r) {
                const int i = j - r * (int)S;
                if (i >= 0 && i < KH) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(w[i * KW + q]), in, acc[r]);
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        __m256 out = acc[r];
        if (a) {
            out = _mm256_fmadd_ps(out, _mm256_set1_ps(a->scale), _mm256_set1_ps(a->shift));
            out = _mm256_min_ps(_mm256_set1_ps(a->upper), _mm256_max_ps(_mm256_set1_ps(a->lower), out));
        }
        store_first(y + (oy0 + r) * ow + x0, out, ow - x0);
    }
}

/// direct512's 8-lane form.
INL256 void direct256(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a, float *y,
                      const int R, const int KH, const int KW, const long S) {
    const long oh = g->out_h, ow = g->out_w, nv = (ow + 7) / 8;
    for (long v = 0; v < nv; ++v) {
        uint32_t bits[49];
        const int inside = column_bits(g, 8, v, bits);
        __m256i lo[49], hi[49];
        for (int q = 0; q < KW; ++q) lo[q] = mask8(bits[q]), hi[q] = mask8(bits[q] >> 8);
        const long x0 = v * 8;
        long oy = 0;
        for (; oy + R <= oh; oy += R) rows256(x, w, g, a, y, oy, x0, inside, lo, hi, R, KH, KW, S);
        for (; oy < oh; ++oy) rows256(x, w, g, a, y, oy, x0, inside, lo, hi, 1, KH, KW, S);
    }
}

T256 void pk_depthwise_direct_avx2(const float *x, const float *w, const pk_conv_shape *g,
                                   const pk_plane_affine *a, float *y) {
    const int kh = (int)g->kernel_h, kw = (int)g->kernel_w;
    if (kh == 3 && kw == 3) {
        if (g->stride == 1) direct256(x, w, g, a, y, 4, 3, 3, 1); else direct256(x, w, g, a, y, 4, 3, 3, 2);
    } else {
        if (g->stride == 1) direct256(x, w, g, a, y, 1, kh, kw, 1); else direct256(x, w, g, a, y, 1, kh, kw, 2);
    }
}

#endif
