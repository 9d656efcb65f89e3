// Max pooling forward (the Engine's maxPool2d), compiled per SIMD level.
//
// Separable: a horizontal pass takes, for every input row, the maximum over each output
// column's window (k compares per output column), then a vertical pass takes the maximum of
// those over each output row's window, so a k x k window costs 2k compares instead of k². Both
// passes use F.max_pool2d's rule in scan order: a value replaces the current best when it is
// larger or NaN, so the result is the first maximum in row-major window order, or the last NaN.
// Applied per row and then across rows this picks the same element as the 2-D scan. Windows are
// clipped to the image (padding is -inf); padding <= kernel/2 keeps every window non-empty.
// Without argmax (inference) the value alone is wanted, and the passes run the other way round.
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

/// Values only (no argmax): for each output row, the maximum over its window of input rows
/// first (whole rows, vectorised), then over each output column's window of that row. The value
/// is the same in either order: the window's maximum, or NaN when it holds one. The windows of
/// ResNet's 3 x 3 stride-2 pool that lie inside the row are taken three loads at a time, which
/// the compiler vectorises with interleaved loads. `vrow` holds `width` floats.
PK_BODY void max_pool_values_body(const float *restrict x, long planes, const pk_conv_shape *g, float *restrict y,
                                  float *restrict vrow) {
    const long H = g->height, W = g->width, oh = g->out_h, ow = g->out_w;
    const long kh = g->kernel_h, kw = g->kernel_w, s = g->stride, p = g->padding;
    // Output columns [qa, qb) have windows inside the row.
    long qa = (p + s - 1) / s, qb = W - kw + p < 0 ? 0 : (W - kw + p) / s + 1;
    if (qb > ow) qb = ow;
    if (qa > qb) qa = qb;
    for (long pl = 0; pl < planes; ++pl) {
        const float *src = x + pl * H * W;
        for (long r = 0; r < oh; ++r) {
            long i0 = r * s - p, i1 = i0 + kh;
            if (i0 < 0) i0 = 0;
            if (i1 > H) i1 = H;
            const float *first = src + i0 * W;
            for (long j = 0; j < W; ++j) vrow[j] = first[j];
            for (long iy = i0 + 1; iy < i1; ++iy) {
                const float *row = src + iy * W;
                for (long j = 0; j < W; ++j) vrow[j] = takes(row[j], vrow[j]) ? row[j] : vrow[j];
            }
            // Output columns [qa, qb) of a 3 x 3 stride-2 pool in their own loop (vectorised);
            // every other column, and every column of other pools, by the clipped-window loop.
            float *o = y + (pl * oh + r) * ow;
            const int fast = kw == 3 && s == 2;
            const long lo = fast ? qa : ow, hi = fast ? qb : ow;
            for (long q = lo; q < hi; ++q) {
                const float *v = vrow + 2 * q - p;
                const float b = takes(v[1], v[0]) ? v[1] : v[0];
                o[q] = takes(v[2], b) ? v[2] : b;
            }
            for (long q = 0; q < ow; ++q) {
                if (q == lo) q = hi;
                if (q == ow) break;
                long j0 = q * s - p, j1 = j0 + kw;
                if (j0 < 0) j0 = 0;
                if (j1 > W) j1 = W;
                float b = vrow[j0];
                for (long j = j0 + 1; j < j1; ++j) b = takes(vrow[j], b) ? vrow[j] : b;
                o[q] = b;
            }
        }
    }
}

PK_LEVEL_VARIANTS(void, max_pool_values, (const float *x, long planes, const pk_conv_shape *g, float *y, float *vrow),
                  (x, planes, g, y, vrow))

PK_LEVEL_VARIANTS(void, max_pool,
                  (const float *x, long planes, const pk_conv_shape *g, float *y, int32_t *argmax, float *hval, int32_t *hcol),
                  (x, planes, g, y, argmax, hval, hcol))

static void max_pool_at_level(const float *x, long planes, const pk_conv_shape *g, float *y, int32_t *argmax,
                              float *hval, int32_t *hcol) {
    PK_DISPATCH(max_pool, (x, planes, g, y, argmax, hval, hcol))
}

static void max_pool_values_at_level(const float *x, long planes, const pk_conv_shape *g, float *y, float *vrow) {
    PK_DISPATCH(max_pool_values, (x, planes, g, y, vrow))
}

int pk_max_pool2d(const float *x, long planes, const pk_conv_shape *g, float *y, int32_t *argmax) {
    if (!argmax) {
        float *vrow = malloc((size_t)(g->width + 1) * sizeof(float));
        if (vrow) max_pool_values_at_level(x, planes, g, y, vrow);
        free(vrow);
        return vrow ? 0 : -1;
    }
    const size_t n = (size_t)(g->height * g->out_w) + 1;
    float *hval = malloc(n * sizeof(float));
    int32_t *hcol = malloc(n * sizeof(int32_t));
    if (hval && hcol) max_pool_at_level(x, planes, g, y, argmax, hval, hcol);
    const int ok = hval && hcol;
    free(hval);
    free(hcol);
    return ok ? 0 : -1;
}
