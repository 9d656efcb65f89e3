// Depthwise convolution forward (each channel convolved with its own kH x kW kernel), one plane
// at a time. The plane is first copied into a zero-bordered scratch, split by phase for strides
// above 1 (phase (fy, fx) holds the padded pixels (a*s + fy, b*s + fx)), so that tap (i, q) of
// output (oy, ox) reads phase (i % s, q % s) at (oy + i / s, ox + q / s): with outputs laid out
// at the scratch's row pitch, every tap reads one contiguous run for the whole plane. The sum
// over taps is branch-free and vectorises over blocks of 64 outputs held in registers, written
// once; the few outputs in the pitch's spare columns are computed and dropped. (The Swift loop it
// replaces made one read-modify-write pass over the output plane per tap.) The caller zeroes the
// scratch once for all planes of a shape: each plane writes only the interior, so the padding and
// the slack stay zero (zeroing it per plane took 1.4% of a MobileNetV2 inference). This is the
// portable and NEON kernel, and the x86 levels' for strides above 2; at strides 1 and 2 the x86
// levels read the plane in place (depthwise_x86.c), bit for bit this kernel's result.
#include "CKernels.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { DW_BLOCK = 64, DW_MAX_TAPS = 49, DW_SLACK = 2 * DW_BLOCK };

/// Phase geometry: s x s phases of hq rows of wq columns.
static void phases(const pk_conv_shape *g, long *hq, long *wq) {
    const long s = g->stride;
    *hq = (g->height + 2 * g->padding + s - 1) / s;
    *wq = (g->width + 2 * g->padding + s - 1) / s;
}

size_t pk_depthwise_scratch_size(const pk_conv_shape *g) {
#if defined(__x86_64__)
    if (pk_simd_level() >= 1 && pk_depthwise_direct_suits(g)) return 0;  // read in place (depthwise_x86.c)
#endif
    long hq, wq;
    phases(g, &hq, &wq);
    // The phases, then the outputs at pitch wq, each with slack for the last block (whose taps
    // read up to a block plus a kernel row past the last output).
    return (size_t)(g->stride * g->stride * hq * wq + DW_SLACK + g->out_h * wq + DW_BLOCK);
}

PK_BODY void depthwise_plane_body(const float *restrict x, const float *restrict w, const pk_conv_shape *g,
                                  const pk_plane_affine *a, float *restrict y, float *restrict scratch) {
    const long H = g->height, W = g->width, p = g->padding, s = g->stride, oh = g->out_h, ow = g->out_w;
    const int kh = (int)g->kernel_h, kw = (int)g->kernel_w, taps = kh * kw;
    long hq, wq;
    phases(g, &hq, &wq);
    const long phase_size = hq * wq;
    float *restrict grid = scratch + s * s * phase_size + DW_SLACK;  // outputs at pitch wq
    // The padding is zero from the caller's zeroing of the scratch: every plane of this shape
    // writes the same interior positions only, so it stays zero from plane to plane.
    for (long r = 0; r < H; ++r) {
        const long pr = r + p;
        float *dst = scratch + (pr % s) * s * phase_size + (pr / s) * wq;
        const float *src = x + r * W;
        if (s == 1) {
            memcpy(dst + p, src, (size_t)W * sizeof(float));
            continue;
        }
        for (long fx = 0; fx < s; ++fx, dst += phase_size) {
            // Phase column b is padded column b*s + fx, input column b*s + fx - p: the columns
            // b0 <= b < b1 that fall inside the image, copied without a test per column (a
            // constant stride 2, the common case, vectorises as a deinterleave).
            const long b0 = fx >= p ? 0 : (p - fx + s - 1) / s;
            const long last = W - 1 - fx + p;  // b*s <= last; C division truncates, so test the sign
            long b1 = last < 0 ? 0 : last / s + 1;
            if (b1 > wq) b1 = wq;
            const float *from = src + b0 * s + fx - p;
            if (s == 2) {
                for (long b = b0; b < b1; ++b) dst[b] = from[2 * (b - b0)];
            } else {
                for (long b = b0; b < b1; ++b) dst[b] = from[s * (b - b0)];
            }
        }
    }
    long off[DW_MAX_TAPS];
    float wt[DW_MAX_TAPS];
    for (int i = 0; i < kh; ++i)
        for (int q = 0; q < kw; ++q) {
            off[i * kw + q] = ((i % s) * s + q % s) * phase_size + (i / s) * wq + q / s;
            wt[i * kw + q] = w[i * kw + q];
        }
    const long total = oh * wq;
    for (long t0 = 0; t0 < total; t0 += DW_BLOCK) {
        float acc[DW_BLOCK] = {0};
        for (int t = 0; t < taps; ++t) {
            const float *r = scratch + off[t] + t0;
            const float wv = wt[t];
            for (int j = 0; j < DW_BLOCK; ++j) acc[j] += wv * r[j];
        }
        if (a) {
            // The affine map and clamp (a folded eval-mode batch norm and its ReLU/ReLU6) on the
            // whole block as it leaves the registers, not per output row (whose short tails cost
            // as much as the map); the clamp as batchnorm.c's, so NaN passes through.
            const float scale = a->scale, shift = a->shift, lower = a->lower, upper = a->upper;
            for (int j = 0; j < DW_BLOCK; ++j) {
                const float v = acc[j] * scale + shift;
                grid[t0 + j] = v < lower ? lower : v > upper ? upper : v;
            }
        } else {
            for (int j = 0; j < DW_BLOCK; ++j) grid[t0 + j] = acc[j];
        }
    }
    for (long oy = 0; oy < oh; ++oy) memcpy(y + oy * ow, grid + oy * wq, (size_t)ow * sizeof(float));
}

PK_LEVEL_VARIANTS(void, depthwise_plane,
                  (const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a, float *y,
                   float *scratch),
                  (x, w, g, a, y, scratch))

static void depthwise_plane(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a, float *y,
                            float *scratch) {
#if defined(__x86_64__)
    // The x86 levels read the plane in place (depthwise_x86.c) where the stride allows.
    const int level = pk_simd_level();
    if (level >= 1 && pk_depthwise_direct_suits(g)) {
        if (level == 2) {
            pk_depthwise_direct_avx512(x, w, g, a, y);
        } else {
            pk_depthwise_direct_avx2(x, w, g, a, y);
        }
        return;
    }
#endif
    if (!scratch) {
        // Sized at a level that reads in place, then run at one that does not (a test switching
        // levels in between): this plane's own zeroed scratch.
        float *own = calloc(pk_depthwise_scratch_size(g), sizeof(float));
        if (!own) {
            for (long i = 0; i < g->out_h * g->out_w; ++i) y[i] = NAN;  // out of memory: never a silent result
            return;
        }
        depthwise_plane(x, w, g, a, y, own);
        free(own);
        return;
    }
    PK_DISPATCH(depthwise_plane, (x, w, g, a, y, scratch))
}

void pk_depthwise_forward_plane(const float *x, const float *w, const pk_conv_shape *g, float *y, float *scratch) {
    depthwise_plane(x, w, g, NULL, y, scratch);
}

void pk_depthwise_forward_plane_affine(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a,
                                       float *y, float *scratch) {
    depthwise_plane(x, w, g, a, y, scratch);
}
