// Portable micro-kernel (plain C, any architecture).
//
// A 4 x 16 register tile written as fixed-size loops: with MR and NR compile-time constants the
// compiler fully unrolls them and vectorises along NR (SSE2 on baseline x86-64, NEON on arm64),
// keeping the accumulators in registers. Edge tiles are computed in full (the packed panels are
// zero padded) and only the valid m x n part is written back.
#include "internal.h"

enum { PMR = 4, PNR = 16 };

static void ukernel_portable(long kc, const float *restrict a, const float *restrict b,
                             float *restrict c, long ldc, int m, int n, float alpha, float beta) {
    float acc[PMR][PNR];
    for (int i = 0; i < PMR; ++i)
        for (int j = 0; j < PNR; ++j) acc[i][j] = 0.0f;

    for (long k = 0; k < kc; ++k) {
        const float *ak = a + k * PMR;
        const float *bk = b + k * PNR;
        for (int i = 0; i < PMR; ++i) {
            const float ai = ak[i];
            for (int j = 0; j < PNR; ++j) acc[i][j] += ai * bk[j];
        }
    }

    for (int i = 0; i < m; ++i) {
        float *ci = c + i * ldc;
        if (beta == 0.0f) {
            for (int j = 0; j < n; ++j) ci[j] = alpha * acc[i][j];
        } else {
            for (int j = 0; j < n; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
        }
    }
}

static const pk_kernel_desc g_desc = {
    .mr = PMR, .nr = PNR,
    .kc = 256, .mc = 128, .nc = 2048,
    .kernel = ukernel_portable,
    .pack_a = pk_pack_a_generic,
    .pack_b = pk_pack_b_generic,
};

const pk_kernel_desc *pk_desc_portable(void) { return &g_desc; }
