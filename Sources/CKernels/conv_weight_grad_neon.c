// The direct 3x3 weight gradient's kernels on ARM NEON (aarch64; driver: conv_weight_grad.c): a
// pass holds 24 q-register accumulators, 16 output channels (four vectors) x 2 input channels x
// the 3 taps of one kernel row, over all pixels of a block of images: per pixel 4 vector loads
// of gy and 6 input pixels feed 24 FMAs by scalar. gy is transposed per image by a plain loop.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__aarch64__)
#include <arm_neon.h>

enum { WG_CHANNELS = 2, WG_TAPS = 9 };

#define TGT
#define INL static inline __attribute__((always_inline))

#define ACC_DECL(C, Q) float32x4_t a##C##Q##0, a##C##Q##1, a##C##Q##2, a##C##Q##3;
#define ACC_LOAD(C, Q)                                                        \
    if (CB > C) {                                                             \
        const float *d = dwt + (C * WG_TAPS + row * 3 + Q) * ldt;             \
        a##C##Q##0 = vld1q_f32(d); a##C##Q##1 = vld1q_f32(d + 4);             \
        a##C##Q##2 = vld1q_f32(d + 8); a##C##Q##3 = vld1q_f32(d + 12);        \
    }
#define ACC_STORE(C, Q)                                                       \
    if (CB > C) {                                                             \
        float *d = dwt + (C * WG_TAPS + row * 3 + Q) * ldt;                   \
        vst1q_f32(d, a##C##Q##0); vst1q_f32(d + 4, a##C##Q##1);               \
        vst1q_f32(d + 8, a##C##Q##2); vst1q_f32(d + 12, a##C##Q##3);          \
    }
#define ACC_STEP(C, Q)                                                        \
    if (CB > C) {                                                             \
        const float xv = r##C[Q];                                             \
        a##C##Q##0 = vfmaq_n_f32(a##C##Q##0, g0, xv);                         \
        a##C##Q##1 = vfmaq_n_f32(a##C##Q##1, g1, xv);                         \
        a##C##Q##2 = vfmaq_n_f32(a##C##Q##2, g2, xv);                         \
        a##C##Q##3 = vfmaq_n_f32(a##C##Q##3, g3, xv);                         \
    }
#define FOR_ACC(X) X(0, 0) X(0, 1) X(0, 2) X(1, 0) X(1, 1) X(1, 2)

/// One pass: CB (1..2) input channels starting at `xp`, kernel row `row`, against the 16 output
/// channels of `gyt` (16 floats per pixel, pixels `ldg` floats apart, image after image).
INL void pass(const int CB, int row, const float *gyt, long ldg, const float *xp, long plane_p, long image_p,
              long wp, long h, long w, long images, float *dwt, long ldt) {
    FOR_ACC(ACC_DECL)
    FOR_ACC(ACC_LOAD)
    for (long n = 0; n < images; ++n) {
        const float *img = xp + n * image_p + row * wp;
        for (long y = 0; y < h; ++y) {
            const float *r0 = img + y * wp, *r1 = r0 + plane_p;
            for (long x = 0; x < w; ++x, gyt += ldg, ++r0, ++r1) {
                const float32x4_t g0 = vld1q_f32(gyt), g1 = vld1q_f32(gyt + 4);
                const float32x4_t g2 = vld1q_f32(gyt + 8), g3 = vld1q_f32(gyt + 12);
                FOR_ACC(ACC_STEP)
            }
        }
    }
    FOR_ACC(ACC_STORE)
}

#include "conv_weight_grad_rows.h"

/// dst[p * ldd + o] = src[o * plane + p] for o < M, p < plane, and 0 for M <= o < ldd.
static void transpose_channels(const float *src, long M, long plane, float *dst, long ldd) {
    for (long p = 0; p < plane; ++p)
        for (long o = 0; o < ldd; ++o) dst[p * ldd + o] = o < M ? src[o * plane + p] : 0.0f;
}

static const pk_weight_grad_kernel g_kernel = {.transpose = transpose_channels, .outputs16 = outputs16};

const pk_weight_grad_kernel *pk_weight_grad_kernel_neon(void) { return &g_kernel; }
#endif
