// Unfolding an image into the column matrix of a convolution (im2col) and folding a column
// gradient back (col2im), for the GEMM-based conv2d in the Engine target.
//
// Row r = (c, i, j) of the column matrix holds, for every output pixel (y, x), the input pixel
// (y*stride - padding + i, x*stride - padding + j) of channel c, or 0 where that lies in the
// padding. Output columns x whose input column is inside the image form one range [lo, hi) per
// kernel column j, and likewise output rows y per kernel row i.
//
// Fast path ("same" stride-1 convs, output width == input width, e.g. 3x3 padding 1): row
// (c, i, j) is the channel plane shifted by (i - padding) rows and (j - padding) columns, so it
// is one contiguous copy of the whole plane followed by zeroing the one or two columns that
// wrapped around from the neighbouring image row. This replaces oh short row copies (7-56
// floats each) with one memcpy; col2im likewise adds whole planes after zeroing the wrapped
// entries of its (scratch) column matrix. The loops are compiled once per SIMD level (AVX-512, AVX2,
// baseline) and picked by pk_simd_level(), so PRACTISE_SIMD selects them like the GEMM kernels.
#include "CKernels.h"
#include "internal.h"

#include <string.h>

/// Output index range [*lo, *hi) whose input coordinate o*stride + off lies in [0, extent).
static void valid_range(long off, long stride, long extent, long out, long *lo, long *hi) {
    long l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    long h = extent - 1 - off >= 0 ? (extent - 1 - off) / stride + 1 : 0;
    if (h > out) h = out;
    if (l > out) l = out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

static void zero(float *p, long n) {
    if (n > 0) memset(p, 0, (size_t)n * sizeof(float));
}

/// Shifted-plane path: row index d of the valid output rows [ylo, yhi) reads plane index
/// d + shift. [*d0, *d1) is that range clipped to the plane; the clipped ends fall in wrapped
/// columns, which the callers zero anyway. Always ylo*W <= *d0 <= *d1 <= yhi*W (an empty range
/// when [ylo, yhi) is: e.g. a block of output rows above the first valid one).
static long shifted_span(long i, long j, long p, long W, long H, long ylo, long yhi, long *d0, long *d1) {
    const long shift = (i - p) * W + (j - p);
    long a = ylo * W, b = yhi * W;
    if (a + shift < 0) a = -shift;
    if (a > yhi * W) a = yhi * W;
    if (b + shift > H * W) b = H * W - shift;
    *d0 = a;
    *d1 = b > a ? b : a;
    return shift;
}

/// Zeroes, in `rows` consecutive output rows starting at `first` (each `ow` wide), the columns
/// outside [lo, hi): padding positions, which the shifted plane fills from the neighbouring
/// image row.
static void zero_wrapped_columns(float *first, long rows, long ow, long lo, long hi) {
    for (long y = 0; y < rows; ++y) {
        for (long t = 0; t < lo; ++t) first[y * ow + t] = 0;
        for (long t = hi; t < ow; ++t) first[y * ow + t] = 0;
    }
}

/// Valid output rows of kernel row i (input row inside the image), clipped to the block [y0, y1).
static void valid_rows(const pk_conv_shape *g, long i, long y0, long y1, long *ylo, long *yhi) {
    valid_range(i - g->padding, g->stride, g->height, g->out_h, ylo, yhi);
    if (*ylo < y0) *ylo = y0;
    if (*ylo > y1) *ylo = y1;
    if (*yhi > y1) *yhi = y1;
    if (*yhi < *ylo) *yhi = *ylo;
}

// Both bodies work on the output rows [y0, y1) only: column (y - y0)*ow + t of a row of `col`
// is output pixel (y, t). `base` = y0*ow converts plane-wide output indices to block columns.

PK_BODY void im2col_body(const float *restrict x, const pk_conv_shape *g, long y0, long y1,
                         float *restrict col, long ldc) {
    const long H = g->height, W = g->width, ow = g->out_w;
    const long s = g->stride, p = g->padding, kh = g->kernel_h, kw = g->kernel_w;
    const long base = y0 * ow;
    const int shifted_plane = s == 1 && ow == W;
    for (long c = 0; c < g->channels; ++c) {
        const float *plane = x + c * H * W;
        for (long i = 0; i < kh; ++i) {
            long ylo, yhi;
            valid_rows(g, i, y0, y1, &ylo, &yhi);
            for (long j = 0; j < kw; ++j) {
                float *row = col + ((c * kh + i) * kw + j) * ldc;
                const long off = j - p;
                long lo, hi;
                valid_range(off, s, W, ow, &lo, &hi);
                zero(row, (ylo - y0) * ow);
                zero(row + (yhi - y0) * ow, (y1 - yhi) * ow);
                if (shifted_plane) {
                    // row[d - base] = plane[d + shift] for d in the valid rows, then the wrapped columns.
                    long d0, d1;
                    const long shift = shifted_span(i, j, p, W, H, ylo, yhi, &d0, &d1);
                    zero(row + ylo * ow - base, d0 - ylo * ow);
                    if (d1 > d0) memcpy(row + d0 - base, plane + d0 + shift, (size_t)(d1 - d0) * sizeof(float));
                    zero(row + d1 - base, yhi * ow - d1);
                    zero_wrapped_columns(row + ylo * ow - base, yhi - ylo, ow, lo, hi);
                    continue;
                }
                for (long y = ylo; y < yhi; ++y) {
                    float *dst = row + y * ow - base;
                    const float *src = plane + (y * s - p + i) * W;  // input row; column t*s + off
                    for (long t = 0; t < lo; ++t) dst[t] = 0;
                    if (s == 1) {
                        for (long t = lo; t < hi; ++t) dst[t] = src[t + off];
                    } else {
                        for (long t = lo; t < hi; ++t) dst[t] = src[t * s + off];
                    }
                    for (long t = hi; t < ow; ++t) dst[t] = 0;
                }
            }
        }
    }
}

PK_BODY void col2im_body(float *restrict col, long ldc, const pk_conv_shape *g, long y0, long y1,
                         float *restrict dx) {
    const long H = g->height, W = g->width, ow = g->out_w;
    const long s = g->stride, p = g->padding, kh = g->kernel_h, kw = g->kernel_w;
    const long base = y0 * ow;
    const int shifted_plane = s == 1 && ow == W;
    for (long c = 0; c < g->channels; ++c) {
        float *plane = dx + c * H * W;
        for (long i = 0; i < kh; ++i) {
            long ylo, yhi;
            valid_rows(g, i, y0, y1, &ylo, &yhi);
            for (long j = 0; j < kw; ++j) {
                float *row = col + ((c * kh + i) * kw + j) * ldc;
                const long off = j - p;
                long lo, hi;
                valid_range(off, s, W, ow, &lo, &hi);
                if (shifted_plane) {
                    // Zero the padding entries (they would wrap into the neighbouring image
                    // row), then add the valid rows as one contiguous range.
                    zero_wrapped_columns(row + ylo * ow - base, yhi - ylo, ow, lo, hi);
                    long d0, d1;
                    const long shift = shifted_span(i, j, p, W, H, ylo, yhi, &d0, &d1);
                    for (long d = d0; d < d1; ++d) plane[d + shift] += row[d - base];
                    continue;
                }
                for (long y = ylo; y < yhi; ++y) {
                    const float *src = row + y * ow - base;
                    float *dst = plane + (y * s - p + i) * W;  // input row; column t*s + off
                    if (s == 1) {
                        for (long t = lo; t < hi; ++t) dst[t + off] += src[t];
                    } else {
                        for (long t = lo; t < hi; ++t) dst[t * s + off] += src[t];
                    }
                }
            }
        }
    }
}

// MARK: - One compiled copy per SIMD level

PK_LEVEL_VARIANTS(void, im2col, (const float *x, const pk_conv_shape *g, long y0, long y1, float *col, long ldc),
                  (x, g, y0, y1, col, ldc))
PK_LEVEL_VARIANTS(void, col2im, (float *col, long ldc, const pk_conv_shape *g, long y0, long y1, float *dx),
                  (col, ldc, g, y0, y1, dx))

void pk_im2col_rows(const float *x, const pk_conv_shape *g, long y0, long y1, float *col, long ldc) {
    PK_DISPATCH(im2col, (x, g, y0, y1, col, ldc))
}

void pk_col2im_rows(float *col, long ldc, const pk_conv_shape *g, long y0, long y1, float *dx) {
    PK_DISPATCH(col2im, (col, ldc, g, y0, y1, dx))
}

void pk_im2col(const float *x, const pk_conv_shape *g, float *col, long ldc) { pk_im2col_rows(x, g, 0, g->out_h, col, ldc); }

void pk_col2im(float *col, long ldc, const pk_conv_shape *g, float *dx) { pk_col2im_rows(col, ldc, g, 0, g->out_h, dx); }
