// The direct 3x3 weight gradient's kernels on AVX2 + FMA (driver: conv_weight_grad.c): a pass
// holds 12 ymm accumulators, 16 output channels (two vectors) x 2 input channels x the 3 taps of
// one kernel row, over all pixels of a block of images: per pixel 2 vector loads of gy and 6
// broadcast input pixels feed 12 FMAs (12 + 2 + 1 of the 16 registers). gy is transposed per
// image in 8x8 register blocks.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { WG_CHANNELS = 2, WG_TAPS = 9 };

#define TGT __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline)) TGT

#define ACC_DECL(C) __m256 a##C##00, a##C##01, a##C##10, a##C##11, a##C##20, a##C##21;
// Accumulators of channel C, taps (row, 0..2) x vectors 0..1, at rows of dwt `ldt` floats apart.
#define ACC_LOAD(C)                                                                     \
    if (CB > C) {                                                                       \
        const float *d = dwt + (C * WG_TAPS + row * 3) * ldt;                           \
        a##C##00 = _mm256_load_ps(d); a##C##01 = _mm256_load_ps(d + 8);                 \
        a##C##10 = _mm256_load_ps(d + ldt); a##C##11 = _mm256_load_ps(d + ldt + 8);     \
        a##C##20 = _mm256_load_ps(d + 2 * ldt); a##C##21 = _mm256_load_ps(d + 2 * ldt + 8); \
    }
#define ACC_STORE(C)                                                                    \
    if (CB > C) {                                                                       \
        float *d = dwt + (C * WG_TAPS + row * 3) * ldt;                                 \
        _mm256_store_ps(d, a##C##00); _mm256_store_ps(d + 8, a##C##01);                 \
        _mm256_store_ps(d + ldt, a##C##10); _mm256_store_ps(d + ldt + 8, a##C##11);     \
        _mm256_store_ps(d + 2 * ldt, a##C##20); _mm256_store_ps(d + 2 * ldt + 8, a##C##21); \
    }
#define ACC_STEP(C)                                                                     \
    if (CB > C) {                                                                       \
        const __m256 x0 = _mm256_broadcast_ss(r##C), x1 = _mm256_broadcast_ss(r##C + 1); \
        a##C##00 = _mm256_fmadd_ps(g0, x0, a##C##00); a##C##01 = _mm256_fmadd_ps(g1, x0, a##C##01); \
        a##C##10 = _mm256_fmadd_ps(g0, x1, a##C##10); a##C##11 = _mm256_fmadd_ps(g1, x1, a##C##11); \
        const __m256 x2 = _mm256_broadcast_ss(r##C + 2);                                \
        a##C##20 = _mm256_fmadd_ps(g0, x2, a##C##20); a##C##21 = _mm256_fmadd_ps(g1, x2, a##C##21); \
    }

/// One pass: CB (1..2) input channels starting at `xp`, kernel row `row`, against the 16 output
/// channels of `gyt` (16 floats per pixel, pixels `ldg` floats apart, image after image).
INL void pass(const int CB, int row, const float *gyt, long ldg, const float *xp, long plane_p, long image_p,
              long wp, long h, long w, long images, float *dwt, long ldt) {
    ACC_DECL(0) ACC_DECL(1)
    ACC_LOAD(0) ACC_LOAD(1)
    for (long n = 0; n < images; ++n) {
        const float *img = xp + n * image_p + row * wp;
        for (long y = 0; y < h; ++y) {
            const float *r0 = img + y * wp, *r1 = r0 + plane_p;
            for (long x = 0; x < w; ++x, gyt += ldg, ++r0, ++r1) {
                const __m256 g0 = _mm256_load_ps(gyt), g1 = _mm256_load_ps(gyt + 8);
                ACC_STEP(0) ACC_STEP(1)
                // Hide that this pixel's taps 1, 2 are the next one's taps 0, 1: keeping them
                // in registers across iterations would spill accumulators.
                __asm__("" : "+r"(r0), "+r"(r1));
            }
        }
    }
    ACC_STORE(0) ACC_STORE(1)
}

#include "conv_weight_grad_rows.h"

/// -1 in the first 8 entries, 0 after: loading 8 ints at (8 - n) gives a mask of n lanes.
static const int g_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// dst[p * ldd + o] = src[o * plane + p] for o < M, p < plane, and 0 for M <= o < ldd (ldd a
/// multiple of 8): 8x8 blocks transposed in registers (masked at the edges).
TGT static void transpose_channels(const float *src, long M, long plane, float *dst, long ldd) {
    for (long o0 = 0; o0 < ldd; o0 += 8) {
        for (long p0 = 0; p0 < plane; p0 += 8) {
            const long np = plane - p0 < 8 ? plane - p0 : 8;
            const __m256i pm = _mm256_loadu_si256((const __m256i *)(g_mask_src + 8 - np));
            __m256 r[8];
            for (int i = 0; i < 8; ++i)
                r[i] = o0 + i < M ? _mm256_maskload_ps(src + (o0 + i) * plane + p0, pm) : _mm256_setzero_ps();
            __m256 t[8];
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
            }
            // t[0..7] = lo01 hi01 lo23 hi23 lo45 hi45 lo67 hi67
            __m256 u[8];
            for (int i = 0; i < 8; i += 4) {
                u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
                u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
                u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
                u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
            }
            // u[k] (k < 4) holds pixels k and k + 4 of channels 0-3 in its two halves; u[k + 4]
            // the same for channels 4-7.
            for (int k = 0; k < 4; ++k) {
                r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
                r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
            }
            for (int k = 0; k < np; ++k) _mm256_storeu_ps(dst + (p0 + k) * ldd + o0, r[k]);
        }
    }
}

static const pk_weight_grad_kernel g_kernel = {.transpose = transpose_channels, .outputs16 = outputs16};

const pk_weight_grad_kernel *pk_weight_grad_kernel_avx2(void) { return &g_kernel; }
#endif
