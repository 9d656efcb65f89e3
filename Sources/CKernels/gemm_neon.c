// ARM NEON (aarch64) micro-kernel: an 8 x 12 register tile (24 q-register accumulators).
//
// Per k step three 4-wide B loads and two 4-wide loads of packed A (8 rows), then 24 FMAs by
// lane (fmla v.4s, v.4s, v.s[i]): 24 accumulators + 3 B + 2 A = 29 of the 32 registers. The
// packed panels come from the generic packers, which zero every padding lane, so edge tiles are
// computed in full and only their valid m x n part is written back.
#include "internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

enum { MR = 8, NR = 12 };

#define ACC_DECL(I) float32x4_t c##I##0 = vdupq_n_f32(0.0f), c##I##1 = c##I##0, c##I##2 = c##I##0;
#define ACC_STEP(I, A, L)                                 \
    c##I##0 = vfmaq_laneq_f32(c##I##0, b0, A, L);          \
    c##I##1 = vfmaq_laneq_f32(c##I##1, b1, A, L);          \
    c##I##2 = vfmaq_laneq_f32(c##I##2, b2, A, L);
#define STORE_VEC(I, V)                                            \
    {                                                              \
        float *ci = c + I * ldc + 4 * V;                           \
        float32x4_t r = vmulq_f32(c##I##V, va);                    \
        if (use_beta) r = vfmaq_f32(r, vld1q_f32(ci), vb);         \
        vst1q_f32(ci, r);                                          \
    }
#define STORE_ROW(I) STORE_VEC(I, 0) STORE_VEC(I, 1) STORE_VEC(I, 2)
#define ACC_SPILL(I) vst1q_f32(acc[I], c##I##0); vst1q_f32(acc[I] + 4, c##I##1); vst1q_f32(acc[I] + 8, c##I##2);

static void ukernel_neon(long kc, const float *restrict a, const float *restrict b, float *restrict c, long ldc,
                         int m, int n, float alpha, float beta) {
    ACC_DECL(0) ACC_DECL(1) ACC_DECL(2) ACC_DECL(3) ACC_DECL(4) ACC_DECL(5) ACC_DECL(6) ACC_DECL(7)
    for (long k = 0; k < kc; ++k, a += MR, b += NR) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        ACC_STEP(0, a0, 0) ACC_STEP(1, a0, 1) ACC_STEP(2, a0, 2) ACC_STEP(3, a0, 3)
        ACC_STEP(4, a1, 0) ACC_STEP(5, a1, 1) ACC_STEP(6, a1, 2) ACC_STEP(7, a1, 3)
    }
    if (m == MR && n == NR) {
        const float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
        const int use_beta = beta != 0.0f;
        STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5) STORE_ROW(6) STORE_ROW(7)
        return;
    }
    float acc[MR][NR];
    ACC_SPILL(0) ACC_SPILL(1) ACC_SPILL(2) ACC_SPILL(3) ACC_SPILL(4) ACC_SPILL(5) ACC_SPILL(6) ACC_SPILL(7)
    for (int i = 0; i < m; ++i) {
        float *ci = c + i * ldc;
        for (int j = 0; j < n; ++j) ci[j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * ci[j];
    }
}

static const pk_kernel_desc g_desc = {
    .mr = MR, .nr = NR,
    .kc = 256, .mc = 128, .nc = 3072,
    .kernel = ukernel_neon,
    .pack_a = pk_pack_a_generic,
    .pack_b = pk_pack_b_generic,
};

const pk_kernel_desc *pk_desc_neon(void) { return &g_desc; }

#endif
