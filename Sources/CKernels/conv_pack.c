// Implicit-GEMM convolution: the column matrix of a stride-1 "same-width" conv (output width ==
// input width, e.g. 3x3 padding 1) is never written whole. The GEMM driver asks for each B panel
// (kc rows x 32 columns) when it needs it, and this packer gathers it straight from the images:
// for row (c, i, j) the 32 output pixels of a panel read 32 consecutive input pixels shifted by
// (i - padding) rows and (j - padding) columns, so a panel row is two masked 16-lane loads, the
// mask zeroing lanes whose input pixel falls in the padding. That replaces im2col's pass over the
// whole column matrix (write, then read again by the packer) with one read of the image.
//
// Columns of one call may span several images laid side by side (small images batched into one
// product) and a block of output rows; a panel that straddles images does one masked load per
// image segment. AVX-512 only: other levels return 0 and the caller unfolds the column matrix.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { MAX_K = 7, PANEL = 32 };

typedef struct {
    const float *x;
    long image_stride, block, y0, col0;
    pk_conv_shape g;
} conv_b_ctx;

#define TGT __attribute__((target("avx512f")))

TGT static void pack_conv_panel(const void *vctx, long k0, long j0, long kc, long n, int nr, float *dst) {
    const conv_b_ctx *ctx = (const conv_b_ctx *)vctx;
    const long W = ctx->g.width, H = ctx->g.height, HW = H * W, p = ctx->g.padding;
    const int kh = (int)ctx->g.kernel_h, kw = (int)ctx->g.kernel_w;
    (void)nr;  // PANEL (the AVX-512 kernels' NR)
    // Lanes: which image (segments of lanes in one image) and which output pixel; lane bits of
    // the kernel rows i and columns j whose input pixel is inside the image. One division for
    // the first lane, then the lanes advance pixel by pixel.
    uint32_t row_ok[MAX_K] = {0}, col_ok[MAX_K] = {0};
    intptr_t seg_base[PANEL];  // float offset from x of lane 0 of the segment's run
    uint32_t seg_lanes[PANEL];
    int segs = 0;
    const long j = ctx->col0 + j0;
    long t = j / ctx->block, w = j % ctx->block, pos = ctx->y0 * W + w, y = pos / W, xx = pos % W;
    for (long l = 0; l < n; ++l) {
        if (l == 0 || w == 0) {
            seg_base[segs] = (intptr_t)(t * ctx->image_stride + pos - l);
            seg_lanes[segs++] = 0;
        }
        seg_lanes[segs - 1] |= 1u << l;
        for (int i = 0; i < kh; ++i) row_ok[i] |= (uint32_t)(y + i - p >= 0 && y + i - p < H) << l;
        for (int q = 0; q < kw; ++q) col_ok[q] |= (uint32_t)(xx + q - p >= 0 && xx + q - p < W) << l;
        ++w; ++pos;
        if (++xx == W) { xx = 0; ++y; }
        if (w == ctx->block) { w = 0; ++t; pos = ctx->y0 * W; y = ctx->y0; xx = 0; }
    }
    // Rows k = (c, i, q) of the panel, looped by kernel offset (i, q) outside and channel c
    // inside, so the mask and the shift stay fixed in the inner loop.
    const uintptr_t x0 = (uintptr_t)ctx->x;
    const long taps = (long)kh * kw;
    for (int i = 0; i < kh; ++i) {
        for (int q = 0; q < kw; ++q) {
            const long r = (long)i * kw + q;
            // Channels whose row c*taps + r lies in [k0, k0 + kc).
            const long c_lo = k0 > r ? (k0 - r + taps - 1) / taps : 0;
            const long c_hi = k0 + kc - 1 >= r ? (k0 + kc - 1 - r) / taps + 1 : 0;
            if (c_lo >= c_hi) continue;
            const uint32_t m = row_ok[i] & col_ok[q];
            const intptr_t shift = (intptr_t)((i - p) * W + (q - p));
            float *d = dst + (c_lo * taps + r - k0) * PANEL;
            const long dstep = taps * PANEL;
            if (segs == 1) {
                // Lane l reads x[seg_base + shift + c*HW + l]; masked-off lanes are never
                // touched, so the address of lane 0 may lie outside the image (integer arithmetic).
                const __mmask16 mlo = (__mmask16)(m & 0xFFFF), mhi = (__mmask16)(m >> 16);
                const float *b = (const float *)(x0 + (uintptr_t)((seg_base[0] + shift + c_lo * HW) * (intptr_t)sizeof(float)));
                for (long c = c_lo; c < c_hi; ++c, b += HW, d += dstep) {
                    _mm512_store_ps(d, _mm512_maskz_loadu_ps(mlo, b));
                    _mm512_store_ps(d + 16, _mm512_maskz_loadu_ps(mhi, b + 16));
                }
                continue;
            }
            for (long c = c_lo; c < c_hi; ++c, d += dstep) {
                __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
                for (int s = 0; s < segs; ++s) {
                    const uint32_t mm = m & seg_lanes[s];
                    if (!mm) continue;
                    const float *b = (const float *)(x0 + (uintptr_t)((seg_base[s] + shift + c * HW) * (intptr_t)sizeof(float)));
                    lo = _mm512_mask_loadu_ps(lo, (__mmask16)(mm & 0xFFFF), b);
                    hi = _mm512_mask_loadu_ps(hi, (__mmask16)(mm >> 16), b + 16);
                }
                _mm512_store_ps(d, lo);
                _mm512_store_ps(d + 16, hi);
            }
        }
    }
}
#endif

int pk_conv_gemm_implicit(int level, long M, long N, const float *packed, const pk_conv_shape *g,
                          const float *x, long image_stride, long block, long y0, long col0,
                          float beta, float *C, long ldc) {
#if defined(__x86_64__)
    if (level < 2 || g->stride != 1 || g->out_w != g->width || g->kernel_h > MAX_K || g->kernel_w > MAX_K) return 0;
    const pk_kernel_desc *d = pk_desc_for_level(level);
    if (d->nr != PANEL) return 0;
    if (M <= 0 || N <= 0) return 1;
    const long K = g->channels * g->kernel_h * g->kernel_w;
    conv_b_ctx ctx = {x, image_stride, block, y0, col0, *g};
    pk_b_source src = {pack_conv_panel, &ctx};
    pk_gemm_blocked(d, 0, 0, M, N, K, 1.0f, NULL, K, packed, 0, M, NULL, N, &src, beta, C, ldc);
    return 1;
#else
    (void)level; (void)M; (void)N; (void)packed; (void)g; (void)x; (void)image_stride; (void)block;
    (void)y0; (void)col0; (void)beta; (void)C; (void)ldc;
    return 0;
#endif
}
