// The direct 3x3 weight gradient's kernels on AVX-512 (driver: conv_weight_grad.c): a pass
// holds 27 zmm accumulators, 16 output channels x 3 input channels x 9 taps, over all pixels of
// a block of images; gy is transposed per image in 16x16 register blocks.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { WG_CHANNELS = 3, WG_TAPS = 9 };

#define TGT __attribute__((target("avx512f")))
#define INL static inline __attribute__((always_inline)) TGT

#define ACC_DECL(C) __m512 a##C##0, a##C##1, a##C##2, a##C##3, a##C##4, a##C##5, a##C##6, a##C##7, a##C##8;
#define ACC_LOAD(C)                                                                  \
    if (CB > C) {                                                                    \
        const float *d = dwt + (C * WG_TAPS) * ldt;                                  \
        a##C##0 = _mm512_load_ps(d); a##C##1 = _mm512_load_ps(d + ldt);              \
        a##C##2 = _mm512_load_ps(d + 2 * ldt); a##C##3 = _mm512_load_ps(d + 3 * ldt); \
        a##C##4 = _mm512_load_ps(d + 4 * ldt); a##C##5 = _mm512_load_ps(d + 5 * ldt); \
        a##C##6 = _mm512_load_ps(d + 6 * ldt); a##C##7 = _mm512_load_ps(d + 7 * ldt); \
        a##C##8 = _mm512_load_ps(d + 8 * ldt);                                       \
    }
#define ACC_STORE(C)                                                                  \
    if (CB > C) {                                                                     \
        float *d = dwt + (C * WG_TAPS) * ldt;                                         \
        _mm512_store_ps(d, a##C##0); _mm512_store_ps(d + ldt, a##C##1);               \
        _mm512_store_ps(d + 2 * ldt, a##C##2); _mm512_store_ps(d + 3 * ldt, a##C##3); \
        _mm512_store_ps(d + 4 * ldt, a##C##4); _mm512_store_ps(d + 5 * ldt, a##C##5); \
        _mm512_store_ps(d + 6 * ldt, a##C##6); _mm512_store_ps(d + 7 * ldt, a##C##7); \
        _mm512_store_ps(d + 8 * ldt, a##C##8);                                        \
    }
// Channel C's nine taps at pixel row pointer r (rows wp floats apart).
#define ACC_STEP(C)                                                                  \
    if (CB > C) {                                                                    \
        const float *r = r##C;                                                       \
        a##C##0 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[0]), a##C##0);                \
        a##C##1 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[1]), a##C##1);                \
        a##C##2 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[2]), a##C##2);                \
        a##C##3 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[wp]), a##C##3);               \
        a##C##4 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[wp + 1]), a##C##4);           \
        a##C##5 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[wp + 2]), a##C##5);           \
        a##C##6 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[2 * wp]), a##C##6);           \
        a##C##7 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[2 * wp + 1]), a##C##7);       \
        a##C##8 = _mm512_fmadd_ps(gv, _mm512_set1_ps(r[2 * wp + 2]), a##C##8);       \
    }

/// One pass: CB (1..3) input channels starting at `xp` (padded planes `plane_p` floats apart,
/// rows `wp` apart, `images` images `image_p` floats apart) against the 16 output channels of
/// `gyt` (one 16-float vector per pixel, pixels `ldg` floats apart, image after image), adding
/// into dwt (rows c * 9 + t, `ldt` floats apart).
INL void pass(const int CB, const float *gyt, long ldg, const float *xp, long plane_p, long image_p, long wp,
              long h, long w, long images, float *dwt, long ldt) {
    ACC_DECL(0) ACC_DECL(1) ACC_DECL(2)
    ACC_LOAD(0) ACC_LOAD(1) ACC_LOAD(2)
    for (long n = 0; n < images; ++n) {
        const float *img = xp + n * image_p;
        for (long y = 0; y < h; ++y) {
            const float *r0 = img + y * wp, *r1 = r0 + plane_p, *r2 = r1 + plane_p;
            for (long x = 0; x < w; ++x, gyt += ldg, ++r0, ++r1, ++r2) {
                const __m512 gv = _mm512_load_ps(gyt);
                ACC_STEP(0) ACC_STEP(1) ACC_STEP(2)
            }
        }
    }
    ACC_STORE(0) ACC_STORE(1) ACC_STORE(2)
}

typedef void (*pass_fn)(const float *, long, const float *, long, long, long, long, long, long, float *, long);
#define PASS_FN(CB)                                                                                        \
    __attribute__((noinline)) TGT static void pass_##CB(const float *g, long ldg, const float *xp, long pp, \
                                                        long ip, long wp, long h, long w, long n, float *d,  \
                                                        long ldt) {                                         \
        pass(CB, g, ldg, xp, pp, ip, wp, h, w, n, d, ldt);                                                  \
    }
PASS_FN(1) PASS_FN(2) PASS_FN(3)
static const pass_fn g_passes[WG_CHANNELS] = {pass_1, pass_2, pass_3};

/// dst[p * ldd + o] = src[o * plane + p] for o < M, p < plane, and 0 for M <= o < ldd: 16x16
/// blocks transposed in registers (masked at the edges).
TGT static void transpose_channels(const float *src, long M, long plane, float *dst, long ldd) {
    for (long o0 = 0; o0 < ldd; o0 += 16) {
        for (long p0 = 0; p0 < plane; p0 += 16) {
            const long np = plane - p0 < 16 ? plane - p0 : 16;
            const __mmask16 pm = (__mmask16)((1u << np) - 1u);
            __m512 r[16];
            for (int i = 0; i < 16; ++i)
                r[i] = o0 + i < M ? _mm512_maskz_loadu_ps(pm, src + (o0 + i) * plane + p0) : _mm512_setzero_ps();
            // 4 rounds of pairwise interleaves: 32-bit, 64-bit, 128-bit and 256-bit lanes.
            __m512 t[16];
            for (int i = 0; i < 16; i += 2) {
                t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 16; i += 4) {
                for (int j = 0; j < 2; ++j) {
                    r[i + j] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + j]), _mm512_castps_pd(t[i + j + 2])));
                    r[i + j + 2] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + j]), _mm512_castps_pd(t[i + j + 2])));
                }
            }
            for (int i = 0; i < 16; i += 8) {
                for (int j = 0; j < 4; ++j) {
                    t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
                    t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xDD);
                }
            }
            for (int j = 0; j < 8; ++j) {
                r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
                r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
            }
            // r[k] now holds pixel p0 + order[k] of the 16 channels: the 64-bit interleave swaps
            // the middle two of each group of four.
            static const int order[16] = {0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15};
            for (int k = 0; k < 16; ++k) {
                const int p = order[k];
                if (p < np) _mm512_storeu_ps(dst + (p0 + p) * ldd + o0, r[k]);
            }
        }
    }
}

/// All input channels, WG_CHANNELS at a time.
TGT static void outputs16(const float *gyt, long ldg, const float *xp, long plane_p, long image_p, long wp, long h,
                          long w, long images, long channels, float *dwt, long ldt) {
    for (long c0 = 0; c0 < channels; c0 += WG_CHANNELS) {
        const long cb = channels - c0 < WG_CHANNELS ? channels - c0 : WG_CHANNELS;
        g_passes[cb - 1](gyt, ldg, xp + c0 * plane_p, plane_p, image_p, wp, h, w, images, dwt + c0 * WG_TAPS * ldt, ldt);
    }
}

static const pk_weight_grad_kernel g_kernel = {.transpose = transpose_channels, .outputs16 = outputs16};

const pk_weight_grad_kernel *pk_weight_grad_kernel_avx512(void) { return &g_kernel; }
#endif
