// Per-plane loops of batch normalisation (the Engine's batchNorm2d): statistics, the affine
// normalisation and the input gradient, compiled per SIMD level. Sums are reassociated into
// vector-wide partial sums so they vectorise (a strict left-to-right float sum cannot); callers
// accumulate the per-plane results across planes in double.
#include "CKernels.h"
#include "internal.h"

#if defined(__clang__)
#define REASSOCIATE _Pragma("clang fp reassociate(on)")
#else
#define REASSOCIATE
#endif

PK_BODY float sum_body(const float *restrict x, long n) {
    REASSOCIATE
    float s = 0;
    for (long i = 0; i < n; ++i) s += x[i];
    return s;
}

PK_BODY float sum_sq_dev_body(const float *restrict x, long n, float mu) {
    REASSOCIATE
    float s = 0;
    for (long i = 0; i < n; ++i) {
        const float d = x[i] - mu;
        s += d * d;
    }
    return s;
}

PK_BODY void scale_shift_body(const float *restrict x, long n, float scale, float shift, float *restrict y) {
    for (long i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

PK_BODY void sum_and_dot_dev_body(const float *restrict g, const float *restrict x, long n, float mu,
                                  float *sum_g, float *sum_g_dev) {
    REASSOCIATE
    float s = 0, sd = 0;
    for (long i = 0; i < n; ++i) {
        s += g[i];
        sd += g[i] * (x[i] - mu);
    }
    *sum_g = s;
    *sum_g_dev = sd;
}

PK_BODY void bn_input_grad_body(const float *restrict g, const float *restrict x, long n, float mu, float inv,
                                float scale, float a, float b, float *restrict dx) {
    for (long i = 0; i < n; ++i) dx[i] = scale * (g[i] - a - (x[i] - mu) * inv * b);
}

PK_LEVEL_VARIANTS(float, sum, (const float *x, long n), (x, n))
PK_LEVEL_VARIANTS(float, sum_sq_dev, (const float *x, long n, float mu), (x, n, mu))
PK_LEVEL_VARIANTS(void, scale_shift, (const float *x, long n, float scale, float shift, float *y), (x, n, scale, shift, y))
PK_LEVEL_VARIANTS(void, sum_and_dot_dev, (const float *g, const float *x, long n, float mu, float *sg, float *sgd),
                  (g, x, n, mu, sg, sgd))
PK_LEVEL_VARIANTS(void, bn_input_grad,
                  (const float *g, const float *x, long n, float mu, float inv, float scale, float a, float b, float *dx),
                  (g, x, n, mu, inv, scale, a, b, dx))

float pk_sum(const float *x, long n) { PK_DISPATCH(sum, (x, n)) }

float pk_sum_sq_dev(const float *x, long n, float mu) { PK_DISPATCH(sum_sq_dev, (x, n, mu)) }

void pk_scale_shift(const float *x, long n, float scale, float shift, float *y) {
    PK_DISPATCH(scale_shift, (x, n, scale, shift, y))
}

void pk_sum_and_dot_dev(const float *g, const float *x, long n, float mu, float *sum_g, float *sum_g_dev) {
    PK_DISPATCH(sum_and_dot_dev, (g, x, n, mu, sum_g, sum_g_dev))
}

void pk_bn_input_grad(const float *g, const float *x, long n, float mu, float inv, float scale, float a, float b,
                      float *dx) {
    PK_DISPATCH(bn_input_grad, (g, x, n, mu, inv, scale, a, b, dx))
}
