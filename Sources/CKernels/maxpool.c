// Max pooling forward (the Engine's maxPool2d), compiled per SIMD level.
//
// Separable: a horizontal pass takes, for every input row, the maximum over each output
// column's window (k compares per output column), then a vertical pass takes the maximum of
// those over each output row's window, so a k x k window costs 2k compares instead of k². Both
// passes use F.max_pool2d's rule in scan order: a value replaces the current best when it is
// larger or NaN, so the result is the first maximum in row-major window order, or the last NaN.
// Applied per row and then across rows this picks the same element as the 2-D scan. Windows are
// clipped to the image (padding is -inf); padding <= kernel/2 keeps every window non-empty.
#include "CKernels.h"
#include "internal.h"

#include <stdlib.h>

/// Whether v replaces best (F.max_pool2d: larger, or NaN).
static inline int takes(float v, float best) { return v > best || v != v; }

PK_BODY void max_pool_body(const float *restrict x, long planes, const pk_conv_shape *g,
                           float *restrict y, int32_t *restrict argmax, float *restrict hval,
                           int32_t *restrict hcol) {
    const long H = g->height, W = g->width, oh = g->out_h, ow = g->out_w;
    const long kh = g->kernel_h, kw = g->kernel_w, s = g->stride, p = g->padding;
    for (long pl = 0; pl < planes; ++pl) {
        const float *src = x + pl * H * W;
        // Horizontal pass: hval[iy][q] / hcol[iy][q] = max over the window of output column q.
        for (long iy = 0; iy < H; ++iy) {
            const float *row = src + iy * W;
            for (long q = 0; q < ow; ++q) {
                long j0 = q * s - p, j1 = j0 + kw;
                if (j0 < 0) j0 = 0;
                if (j1 > W) j1 = W;
                float best = row[j0];
                long at = j0;
                for (long j = j0 + 1; j < j1; ++j) {
                    if (takes(row[j], best)) { best = row[j]; at = j; }
                }
                hval[iy * ow + q] = best;
                hcol[iy * ow + q] = (int32_t)at;
            }
        }
        // Vertical pass over whole output rows (vectorises across q).
        float *out = y + pl * oh * ow;
        int32_t *idx = argmax ? argmax + pl * oh * ow : NULL;
        for (long r = 0; r < oh; ++r) {
            long i0 = r * s - p, i1 = i0 + kh;
            if (i0 < 0) i0 = 0;
            if (i1 > H) i1 = H;
            float *o = out + r * ow;
            const float *first = hval + i0 * ow;
            for (long q = 0; q < ow; ++q) o[q] = first[q];
            if (idx) {
                int32_t *d = idx + r * ow;
                for (long q = 0; q < ow; ++q) d[q] = (int32_t)(i0 * W) + hcol[i0 * ow + q];
                for (long iy = i0 + 1; iy < i1; ++iy) {
                    const float *v = hval + iy * ow;
                    const int32_t *c = hcol + iy * ow;
                    for (long q = 0; q < ow; ++q) {
                        if (takes(v[q], o[q])) { o[q] = v[q]; d[q] = (int32_t)(iy * W) + c[q]; }
                    }
                }
            } else {
                for (long iy = i0 + 1; iy < i1; ++iy) {
                    const float *v = hval + iy * ow;
                    for (long q = 0; q < ow; ++q) o[q] = takes(v[q], o[q]) ? v[q] : o[q];
                }
            }
        }
    }
}

PK_LEVEL_VARIANTS(void, max_pool,
                  (const float *x, long planes, const pk_conv_shape *g, float *y, int32_t *argmax, float *hval, int32_t *hcol),
                  (x, planes, g, y, argmax, hval, hcol))

static void max_pool_at_level(const float *x, long planes, const pk_conv_shape *g, float *y, int32_t *argmax,
                              float *hval, int32_t *hcol) {
    PK_DISPATCH(max_pool, (x, planes, g, y, argmax, hval, hcol))
}

int pk_max_pool2d(const float *x, long planes, const pk_conv_shape *g, float *y, int32_t *argmax) {
    const size_t n = (size_t)(g->height * g->out_w) + 1;
    float *hval = malloc(n * sizeof(float));
    int32_t *hcol = malloc(n * sizeof(int32_t));
    if (hval && hcol) max_pool_at_level(x, planes, g, y, argmax, hval, hcol);
    const int ok = hval && hcol;
    free(hval);
    free(hcol);
    return ok ? 0 : -1;
}
