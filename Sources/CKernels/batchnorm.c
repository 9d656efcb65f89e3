// Per-plane loops of batch normalisation (the Engine's batchNorm2d): statistics, the affine
// normalisation and the input gradient, compiled per SIMD level. Sums are reassociated into
// vector-wide partial sums so they vectorise (a strict left-to-right float sum cannot); callers
// accumulate the per-plane results across planes in double.
#include "CKernels.h"
#include "internal.h"

#include <math.h>

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

PK_BODY void scale_shift_clamp_body(const float *restrict x, long n, float scale, float shift, float upper,
                                    float *restrict y) {
    for (long i = 0; i < n; ++i) {
        const float v = x[i] * scale + shift;
        y[i] = v < 0 ? 0 : v > upper ? upper : v;  // NaN passes through, as in relu() and relu6()
    }
}
/// The gradient reaching a batch norm whose output went through a ReLU (`upper` infinite) or a
/// ReLU6 (`upper` 6) with output y: g where 0 < y (< upper), else 0 (loaded unconditionally and
/// selected, so the loops vectorise). BOUNDED is a constant of each call site.
static inline __attribute__((always_inline)) float through_act(const float *restrict y, const float *restrict g, long i,
                                                                float upper, const int BOUNDED) {
    const float gi = g[i], yi = y[i];
    return yi > 0 && (!BOUNDED || yi < upper) ? gi : 0;
}
PK_BODY void sum_and_dot_dev_loop(const float *restrict g, const float *restrict x, const float *restrict act_out,
                                  long n, float mu, float upper, const int BOUNDED, float *sum_g, float *sum_g_dev) {
    REASSOCIATE
    float s = 0, sd = 0;
    for (long i = 0; i < n; ++i) {
        const float gi = through_act(act_out, g, i, upper, BOUNDED);
        s += gi;
        sd += gi * (x[i] - mu);
    }
    *sum_g = s;
    *sum_g_dev = sd;
}
PK_BODY void sum_and_dot_dev_body(const float *restrict g, const float *restrict x, const float *restrict act_out,
                                  long n, float mu, float upper, float *sum_g, float *sum_g_dev) {
    REASSOCIATE
    if (act_out) {
        if (upper < INFINITY) sum_and_dot_dev_loop(g, x, act_out, n, mu, upper, 1, sum_g, sum_g_dev);
        else sum_and_dot_dev_loop(g, x, act_out, n, mu, upper, 0, sum_g, sum_g_dev);
        return;
    }
    float s = 0, sd = 0;
    for (long i = 0; i < n; ++i) {
        s += g[i];
        sd += g[i] * (x[i] - mu);
    }
    *sum_g = s;
    *sum_g_dev = sd;
}
PK_BODY void bn_input_grad_body(const float *restrict g, const float *restrict x, const float *restrict act_out,
                                long n, float mu, float inv, float scale, float a, float b, float upper, float *restrict dx) {
    if (act_out && upper < INFINITY) {
        for (long i = 0; i < n; ++i) dx[i] = scale * (through_act(act_out, g, i, upper, 1) - a - (x[i] - mu) * inv * b);
    } else if (act_out) {
        for (long i = 0; i < n; ++i) dx[i] = scale * (through_act(act_out, g, i, upper, 0) - a - (x[i] - mu) * inv * b);
    } else {
        for (long i = 0; i < n; ++i) dx[i] = scale * (g[i] - a - (x[i] - mu) * inv * b);
    }
}
PK_LEVEL_VARIANTS(float, sum, (const float *x, long n), (x, n))
PK_LEVEL_VARIANTS(float, sum_sq_dev, (const float *x, long n, float mu), (x, n, mu))
PK_LEVEL_VARIANTS(void, scale_shift, (const float *x, long n, float scale, float shift, float *y), (x, n, scale, shift, y))
PK_LEVEL_VARIANTS(void, scale_shift_clamp, (const float *x, long n, float scale, float shift, float upper, float *y),
                  (x, n, scale, shift, upper, y))
PK_LEVEL_VARIANTS(void, sum_and_dot_dev,
                  (const float *g, const float *x, const float *r, long n, float mu, float upper, float *sg, float *sgd),
                  (g, x, r, n, mu, upper, sg, sgd))
PK_LEVEL_VARIANTS(void, bn_input_grad,
                  (const float *g, const float *x, const float *r, long n, float mu, float inv, float scale, float a,
                   float b, float upper, float *dx),
                  (g, x, r, n, mu, inv, scale, a, b, upper, dx))

float pk_sum(const float *x, long n) { PK_DISPATCH(sum, (x, n)) }

float pk_sum_sq_dev(const float *x, long n, float mu) { PK_DISPATCH(sum_sq_dev, (x, n, mu)) }

void pk_scale_shift(const float *x, long n, float scale, float shift, float *y) {
    PK_DISPATCH(scale_shift, (x, n, scale, shift, y))
}

void pk_scale_shift_clamp(const float *x, long n, float scale, float shift, float upper, float *y) {
    PK_DISPATCH(scale_shift_clamp, (x, n, scale, shift, upper, y))
}

void pk_sum_and_dot_dev(const float *g, const float *x, const float *act_out, long n, float mu, float upper,
                        float *sum_g, float *sum_g_dev) {
    PK_DISPATCH(sum_and_dot_dev, (g, x, act_out, n, mu, upper, sum_g, sum_g_dev))
}

void pk_bn_input_grad(const float *g, const float *x, const float *act_out, long n, float mu, float inv, float scale,
                      float a, float b, float upper, float *dx) {
    PK_DISPATCH(bn_input_grad, (g, x, act_out, n, mu, inv, scale, a, b, upper, dx))
}
