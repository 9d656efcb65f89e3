// Cross-architecture check of the C kernels (Scripts/test-arm builds it for aarch64 and runs it
// under qemu-aarch64-static; it builds and runs natively too): the GEMM, the direct convolution
// the product epilogue (a folded batch norm, a residual and a clamp, per tile and on a whole
// matrix) and the direct 3x3 weight gradient at every SIMD level the machine has, against plain loops in
// double precision. Prints one line per group of checks and exits non-zero on the first mismatch.
#include "CKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long g_state = 2021;

static float next_float(void) {  // uniform in [-1, 1)
    g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((g_state >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

static float *random_floats(long n) {
    float *p = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (long i = 0; i < n; ++i) p[i] = next_float();
    return p;
}

static int g_failures = 0;

/// Compares `n` values against a reference; reports the first mismatch.
static void check_close(const char *what, const float *got, const double *want, long n, double tol) {
    for (long i = 0; i < n; ++i) {
        const double err = fabs((double)got[i] - want[i]);
        if (!(err <= tol * (1.0 + fabs(want[i])))) {
            printf("FAIL %s: element %ld is %.7g, expected %.7g\n", what, i, (double)got[i], want[i]);
            ++g_failures;
            return;
        }
    }
}

static void check_gemm(int level) {
    static const long sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {8, 12, 16}, {17, 25, 33}, {33, 47, 300}, {64, 64, 64}, {5, 100, 9}};
    static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        const long M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        for (int ta = 0; ta < 2; ++ta) {
            for (int tb = 0; tb < 2; ++tb) {
                for (size_t v = 0; v < sizeof ab / sizeof ab[0]; ++v) {
                    const float alpha = ab[v][0], beta = ab[v][1];
                    const long lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
                    float *A = random_floats((ta ? K : M) * lda), *B = random_floats((tb ? N : K) * ldb);
                    float *C = random_floats(M * ldc);
                    double *want = (double *)malloc((size_t)(M * ldc) * sizeof(double));
                    for (long i = 0; i < M; ++i) {
                        for (long j = 0; j < ldc; ++j) {
                            if (j >= N) { want[i * ldc + j] = C[i * ldc + j]; continue; }
                            double sum = 0;
                            for (long k = 0; k < K; ++k)
                                sum += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                            want[i * ldc + j] = alpha * sum + (beta == 0.0f ? 0.0 : beta * C[i * ldc + j]);
                        }
                    }
                    // Plain and with a pre-packed left operand.
                    float *C2 = (float *)malloc((size_t)(M * ldc) * sizeof(float));
                    memcpy(C2, C, (size_t)(M * ldc) * sizeof(float));
                    pk_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
                    char what[128];
                    snprintf(what, sizeof what, "sgemm level %d, %ldx%ldx%ld, trans %d%d, alpha %g beta %g", level, M, N, K, ta, tb,
                             alpha, beta);
                    check_close(what, C, want, M * ldc, 1e-4);
                    float *packed = (float *)malloc(pk_sgemm_packed_a_size(level, M, K) * sizeof(float));
                    pk_sgemm_pack_a(level, ta, M, K, A, lda, packed);
                    pk_sgemm_packed(level, ta, tb, M, N, K, alpha, NULL, lda, packed, B, ldb, beta, C2, ldc);
                    strncat(what, ", packed A", sizeof what - strlen(what) - 1);
                    check_close(what, C2, want, M * ldc, 1e-4);
                    free(A); free(B); free(C); free(C2); free(want); free(packed);
                }
            }
        }
    }
    printf("sgemm at level %d: checked\n", level);
}

/// The product epilogue: pk_sgemm_packed_rows_epilogue (applied per tile after the last K block)
/// and pk_apply_epilogue (a whole matrix) against the plain product then
/// clamp(c * scale + shift + residual) in double, with and without a residual and a clamp, on
/// row ranges that start at a row-panel boundary.
static void check_epilogue(int level) {
    static const long sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {13, 40, 300}, {30, 33, 17}, {64, 70, 600}};
    const long unit = pk_sgemm_packed_row_unit(level);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        const long M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        for (int variant = 0; variant < 3; ++variant) {
            const int with_residual = variant != 0;
            const float lower = variant == 0 ? -INFINITY : 0.0f, upper = variant == 2 ? 6.0f : INFINITY;
            const long ldb = N + 2, ldc = N + 1, ldr = N + 3;
            float *A = random_floats(M * K), *B = random_floats(K * ldb), *scale = random_floats(M), *shift = random_floats(M);
            float *R = random_floats(M * ldr);
            for (long i = 0; i < M; ++i) scale[i] *= 4.0f;  // products reach past the ReLU6 bound
            float *C = random_floats(M * ldc), *C2 = (float *)malloc((size_t)(M * ldc) * sizeof(float));
            double *want = (double *)malloc((size_t)(M * ldc) * sizeof(double));
            for (long i = 0; i < M; ++i) {
                for (long j = 0; j < N; ++j) {
                    double sum = 0;
                    for (long k = 0; k < K; ++k) sum += (double)A[i * K + k] * B[k * ldb + j];
                    double v = sum * scale[i] + shift[i] + (with_residual ? R[i * ldr + j] : 0.0);
                    want[i * ldc + j] = v < lower ? lower : v > upper ? upper : v;
                }
                for (long j = N; j < ldc; ++j) want[i * ldc + j] = C[i * ldc + j];
            }
            memcpy(C2, C, (size_t)(M * ldc) * sizeof(float));
            const pk_epilogue ep = {scale, shift, with_residual ? R : NULL, ldr, lower, upper};
            float *packed = (float *)malloc(pk_sgemm_packed_a_size(level, M, K) * sizeof(float));
            pk_sgemm_pack_a(level, 0, M, K, A, K, packed);
            // Two row ranges: [0, split) and [split, M), split on a panel boundary.
            const long split = M > unit ? unit : M;
            pk_sgemm_packed_rows_epilogue(level, 0, 0, M, 0, split, N, K, packed, B, ldb, C, ldc, &ep);
            if (split < M) {
                const pk_epilogue rest = {scale + split, shift + split, with_residual ? R + split * ldr : NULL, ldr, lower, upper};
                pk_sgemm_packed_rows_epilogue(level, 0, 0, M, split, M - split, N, K, packed, B, ldb, C + split * ldc, ldc, &rest);
            }
            char what[160];
            snprintf(what, sizeof what, "gemm epilogue level %d, %ldx%ldx%ld, residual %d, clamp [%g, %g]", level, M, N, K,
                     with_residual, lower, upper);
            check_close(what, C, want, M * ldc, 1e-4);
            // The whole-matrix form on the plain product.
            pk_sgemm(0, 0, M, N, K, 1.0f, A, K, B, ldb, 0.0f, C2, ldc);
            pk_apply_epilogue(&ep, C2, ldc, M, N);
            strncat(what, ", whole matrix", sizeof what - strlen(what) - 1);
            check_close(what, C2, want, M * ldc, 1e-4);
            free(A); free(B); free(scale); free(shift); free(R); free(C); free(C2); free(want); free(packed);
        }
    }
    printf("product epilogue at level %d: checked\n", level);
}

/// (N, C, H, W, O, kh, kw, padding, groups)
static const long conv_cases[][9] = {
    {3, 4, 7, 7, 16, 3, 3, 1, 1},   // 49-pixel images: most tiles straddle two
    {2, 3, 4, 8, 5, 3, 3, 1, 1},    // exactly 32 pixels
    {2, 5, 9, 7, 13, 5, 5, 2, 1},   // 5x5, 13 output channels (7 + 6)
    {2, 3, 9, 6, 6, 5, 3, 1, 1},    // 5x3
    {3, 4, 6, 6, 6, 3, 3, 1, 2},    // groups
    {2, 31, 8, 5, 1, 3, 3, 1, 1},   // one output channel
    {15, 2, 6, 7, 20, 3, 3, 1, 1},  // 20 outputs: a partial second vector in the weight gradient
    {1, 3, 29, 30, 9, 3, 3, 1, 1},  // a large image, a partial last tile
    {64, 2, 7, 7, 5, 3, 3, 1, 1},   // many tiles: the per-offset mask table
    {2, 3, 8, 4, 11, 3, 3, 1, 1},   // 11 rows: halves of 6 + 5
    {4, 5, 9, 9, 7, 3, 3, 1, 1},    // 7 rows, an odd channel count
};

/// Plain conv / weight gradient of one case in double precision.
static double conv_ref(const float *x, const float *w, const long *c, long n, long o, long y, long xx) {
    const long C = c[1], H = c[2], W = c[3], O = c[4], kh = c[5], kw = c[6], pad = c[7], G = c[8];
    const long cg = C / G, og = O / G, grp = o / og;
    double s = 0;
    for (long ci = 0; ci < cg; ++ci)
        for (long i = 0; i < kh; ++i)
            for (long q = 0; q < kw; ++q) {
                const long iy = y + i - pad, ix = xx + q - pad;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += (double)x[((n * C + grp * cg + ci) * H + iy) * W + ix] * w[((o * cg + ci) * kh + i) * kw + q];
            }
    return s;
}

static void check_conv(int level) {
    for (size_t t = 0; t < sizeof conv_cases / sizeof conv_cases[0]; ++t) {
        const long *c = conv_cases[t];
        const long N = c[0], C = c[1], H = c[2], W = c[3], O = c[4], kh = c[5], kw = c[6], pad = c[7], G = c[8];
        const long cg = C / G, og = O / G, OH = H + 2 * pad - kh + 1, OW = W + 2 * pad - kw + 1, K = cg * kh * kw;
        const pk_conv_shape g = {cg, H, W, kh, kw, 1, pad, OH, OW};
        char what[160];
        if (!pk_conv_direct_supports(level, &g)) {
            printf("FAIL conv case %zu: not supported at level %d\n", t, level);
            ++g_failures;
            continue;
        }
        float *x = random_floats(N * C * H * W), *w = random_floats(O * K), *y = random_floats(N * O * OH * OW);
        double *want = (double *)malloc((size_t)(N * O * OH * OW) * sizeof(double));
        for (long n = 0; n < N; ++n)
            for (long o = 0; o < O; ++o)
                for (long yy = 0; yy < OH; ++yy)
                    for (long xx = 0; xx < OW; ++xx) want[((n * O + o) * OH + yy) * OW + xx] = conv_ref(x, w, c, n, o, yy, xx);
        const long columns = N * OH * OW;
        for (int split = 0; split < 2; ++split) {  // all columns at once, or in pieces of 32 and 64 (as threads take them)
            for (long grp = 0; grp < G; ++grp) {
                float *packed = (float *)malloc(pk_conv_direct_packed_size(og, K) * sizeof(float));
                pk_conv_direct_pack(w + grp * og * K, og, K, K, packed);
                for (long j0 = 0, step = split ? 32 : columns; j0 < columns; j0 += step, step = split ? 96 - step : step) {
                    const long j1 = j0 + step < columns ? j0 + step : columns;
                    if (!pk_conv_direct(level, packed, og, &g, x + grp * cg * H * W, C * H * W, j0, j1, y + grp * og * OH * OW,
                                        O * OH * OW)) {
                        printf("FAIL conv case %zu: kernel refused\n", t);
                        ++g_failures;
                    }
                }
                free(packed);
            }
            snprintf(what, sizeof what, "direct conv level %d, case %zu (%ldx%ldx%ldx%ld * %ldx%ldx%ldx%ld), %s", level, t, N, C, H, W,
                     O, cg, kh, kw, split ? "pieces" : "whole");
            check_close(what, y, want, N * O * OH * OW, 1e-4);
        }
        // Weight gradient (3x3, padding 1), added into a non-zero dw.
        if (kh == 3 && kw == 3 && pad == 1) {
            float *gy = random_floats(N * O * OH * OW), *dw = random_floats(O * K);
            double *want_dw = (double *)malloc((size_t)(O * K) * sizeof(double));
            for (long o = 0; o < O; ++o) {
                const long grp = o / og;
                for (long ci = 0; ci < cg; ++ci)
                    for (long i = 0; i < 3; ++i)
                        for (long q = 0; q < 3; ++q) {
                            double s = dw[((o * cg + ci) * 3 + i) * 3 + q];
                            for (long n = 0; n < N; ++n)
                                for (long yy = 0; yy < OH; ++yy)
                                    for (long xx = 0; xx < OW; ++xx) {
                                        const long iy = yy + i - 1, ix = xx + q - 1;
                                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                        s += (double)gy[((n * O + o) * OH + yy) * OW + xx] * x[((n * C + grp * cg + ci) * H + iy) * W + ix];
                                    }
                            want_dw[((o * cg + ci) * 3 + i) * 3 + q] = s;
                        }
            }
            for (long grp = 0; grp < G; ++grp) {
                if (!pk_conv_direct_weight_grad(level, &g, og, x + grp * cg * H * W, C * H * W, gy + grp * og * OH * OW, O * OH * OW, N,
                                                dw + grp * og * K)) {
                    printf("FAIL weight gradient case %zu: kernel refused\n", t);
                    ++g_failures;
                }
            }
            snprintf(what, sizeof what, "direct weight gradient level %d, case %zu", level, t);
            check_close(what, dw, want_dw, O * K, 1e-4);
            free(gy); free(dw); free(want_dw);
        }
        free(x); free(w); free(y); free(want);
    }
    printf("direct conv and weight gradient at level %d: checked\n", level);
}

int main(void) {
    const int top = pk_set_simd_level(2);
#if defined(__aarch64__)
    if (top != 1) { printf("FAIL: aarch64 should run at level 1 (NEON), got %d\n", top); return 1; }
    if (strcmp(pk_simd_level_name(top), "neon") != 0) { printf("FAIL: level 1 is named %s\n", pk_simd_level_name(top)); return 1; }
    printf("aarch64: NEON is level %d\n", top);
#endif
    for (int level = top; level >= 0; --level) {
        pk_set_simd_level(level);
        check_gemm(level);
        check_epilogue(level);
        if (pk_conv_direct_available(level)) {
            check_conv(level);
        } else {
            const pk_conv_shape g = {3, 8, 8, 3, 3, 1, 1, 8, 8};
            if (pk_conv_direct_supports(level, &g) || pk_conv_direct_weight_grad_supports(level, &g)) {
                printf("FAIL: level %d claims direct kernels it does not have\n", level);
                ++g_failures;
            }
        }
    }
    if (g_failures) { printf("%d check(s) failed\n", g_failures); return 1; }
    printf("all kernel checks passed\n");
    return 0;
}
