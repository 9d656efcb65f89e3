// Direct convolution for stride-1 "same-width" convs (output as wide as the input, e.g. 3x3
// padding 1): the GEMM micro-kernel's inner product without the GEMM's B panel.
//
// Output pixels are columns, laid out image after image (column j = n * out_plane + p). A tile
// is a panel of up to 12 output channels times `columns` consecutive columns (32 on AVX-512,
// conv_direct_avx512.c; 16 on AVX2, conv_direct_avx2.c). For each input channel c and kernel
// tap (i, q) the input pixels the tile reads are consecutive in memory: the output pixels
// shifted by (i - padding) rows and (q - padding) columns. So the tile loads them straight from
// the image with masked vector loads, the mask zeroing lanes whose input pixel falls in the
// padding, and multiplies them by broadcast weights. Nothing is unfolded or packed per call
// except the weight (one layout for every level), so the image is read once per tile from cache
// and no panel is ever stored.
//
// A tile may straddle two images (out_plane >= 32 guarantees no more than two); such a tile
// loads each vector with one masked load per image. Output rows past M and columns past the end
// are masked off. This file holds what the levels share: the weight layout, the lane masks of a
// tile, and the loop over tiles.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>

enum { DNR_MAX = 32 };

/// Output channels of the tile starting at channel m0 of M: PK_DIRECT_MR, except that a
/// remainder of fewer than PK_DIRECT_MR / 2 is evened out with the tile before it (16 = 8 + 8,
/// not 12 + 4: a 4-row tile has too few accumulators per load).
static long tile_rows(long M, long m0) {
    const long left = M - m0, mr = PK_DIRECT_MR;
    return left <= mr ? left : left < mr + mr / 2 ? (left + 1) / 2 : mr;
}

size_t pk_conv_direct_packed_size(long M, long K) {
    size_t tiles = 0;
    for (long m0 = 0; m0 < M; m0 += tile_rows(M, m0)) ++tiles;
    return tiles * PK_DIRECT_MR * (size_t)K;
}

void pk_conv_direct_pack(const float *w, long M, long K, long ldw, float *dst) {
    for (long m0 = 0, rows; m0 < M; m0 += rows, dst += PK_DIRECT_MR * K) {
        rows = tile_rows(M, m0);
        for (long k = 0; k < K; ++k)
            for (long r = 0; r < PK_DIRECT_MR; ++r) dst[k * PK_DIRECT_MR + r] = r < rows ? w[(m0 + r) * ldw + k] : 0.0f;
    }
}

/// The lanes of a tile of n (1..32) columns whose first column is pixel p of an image.
static void lanes_at(pk_direct_lanes *t, const pk_conv_shape *g, long p, long n) {
    const long W = g->width, H = g->height, plane = g->out_h * W, pad = g->padding;
    const int kh = (int)g->kernel_h, kw = (int)g->kernel_w;
    uint32_t row_ok[7] = {0}, col_ok[7] = {0};
    long yy = p / W, xx = p % W;
    int seg = 0;
    t->seg[0] = t->seg[1] = 0;
    t->split = n;
    for (long l = 0; l < n; ++l) {
        if (l > 0 && p == 0) { seg = 1; t->split = l; }
        t->seg[seg] |= 1u << l;
        for (int i = 0; i < kh; ++i) row_ok[i] |= (uint32_t)((unsigned long)(yy + i - pad) < (unsigned long)H) << l;
        for (int q = 0; q < kw; ++q) col_ok[q] |= (uint32_t)((unsigned long)(xx + q - pad) < (unsigned long)W) << l;
        if (++xx == W) { xx = 0; ++yy; }
        if (++p == plane) { p = 0; yy = 0; }
    }
    for (int s = 0; s < 2; ++s)
        for (int i = 0; i < kh; ++i)
            for (int q = 0; q < kw; ++q) t->tap[s][i * kw + q] = row_ok[i] & col_ok[q] & t->seg[s];
}

static long gcd(long a, long b) {
    while (b) { const long r = a % b; a = b; b = r; }
    return a;
}

/// Rounds a mask size up to a multiple of 64 bytes, so table entries stay aligned.
static size_t aligned_bytes(size_t bytes) { return (bytes + 63) / 64 * 64; }

/// The loop over tiles of columns [j0, j1), each over all panels of output channels, on `kern`.
static int conv_direct_run(const pk_direct_kernel *kern, const float *packed, long M, const pk_conv_shape *g,
                           const float *x, long x_image_stride, long j0, long j1, float *y, long y_image_stride) {
    const long W = g->width, plane_in = g->height * W, plane_out = g->out_h * W, pad = g->padding;
    const int kh = (int)g->kernel_h, kw = (int)g->kernel_w, taps = kh * kw;
    const long K = g->channels * taps, dnr = kern->columns;
    intptr_t off[PK_DIRECT_MAX_TAPS];
    for (int i = 0; i < kh; ++i)
        for (int q = 0; q < kw; ++q) off[i * kw + q] = (intptr_t)(((i - pad) * W + (q - pad)) * (long)sizeof(float));
    const size_t mask_bytes = aligned_bytes(kern->mask_bytes(taps));
    // Full tiles starting `phases` tiles apart start at the same pixel of an image, so their
    // masks are computed once when the range has many more tiles than that (and the table stays
    // within 1 MB).
    const long phases = plane_out / gcd(plane_out, dnr), full = (j1 - j0) / dnr;
    const int tabled = full >= 2 * phases && (size_t)phases * mask_bytes <= ((size_t)1 << 20);
    // The table's entries, then one slot for tiles that compute their own.
    const size_t entries = tabled ? (size_t)phases : 0;
    unsigned char *table = NULL;
    long *splits = (long *)malloc((entries + 1) * sizeof(long));
    if (!splits || posix_memalign((void **)&table, 64, (entries + 1) * mask_bytes)) { free(splits); return 0; }
    unsigned char *own = table + entries * mask_bytes;
    pk_direct_lanes lanes;
    for (size_t k = 0; k < entries; ++k) {
        lanes_at(&lanes, g, (j0 + (long)k * dnr) % plane_out, dnr);
        kern->masks(table + k * mask_bytes, &lanes, taps);
        splits[k] = lanes.split;
    }
    const uintptr_t xb = (uintptr_t)x, yb = (uintptr_t)y, fs = sizeof(float);
    for (long j = j0, k = 0; j < j1; j += dnr, ++k) {
        const long n = j1 - j < dnr ? j1 - j : dnr, img = j / plane_out, p = j % plane_out;
        const void *masks;
        long split;
        if (tabled && n == dnr) {
            masks = table + (size_t)(k % phases) * mask_bytes;
            split = splits[k % phases];
        } else {
            lanes_at(&lanes, g, p, n);
            kern->masks(own, &lanes, taps);
            masks = own;
            split = lanes.split;
        }
        // Lane 0's addresses; segment 1's lane 0 sits `split` pixels before the next image's pixel 0.
        pk_direct_addresses t = {{0, 0}, {0, 0}};
        t.src[0] = xb + (uintptr_t)(img * x_image_stride + p) * fs;
        t.dst[0] = yb + (uintptr_t)(img * y_image_stride + p) * fs;
        const int segs = split < n ? 2 : 1;
        if (segs == 2) {
            t.src[1] = xb + (uintptr_t)((img + 1) * x_image_stride - split) * fs;
            t.dst[1] = yb + (uintptr_t)((img + 1) * y_image_stride - split) * fs;
        }
        const uintptr_t dst0 = t.dst[0], dst1 = t.dst[1];
        const float *a = packed;
        for (long m0 = 0, rows; m0 < M; m0 += rows, a += PK_DIRECT_MR * K) {
            rows = tile_rows(M, m0);
            t.dst[0] = dst0 + (uintptr_t)(m0 * plane_out) * fs;
            t.dst[1] = dst1 + (uintptr_t)(m0 * plane_out) * fs;
            kern->panel(masks, (int)rows, segs, n, taps, g->channels, a, off, &t,
                        (intptr_t)(plane_in * (long)sizeof(float)), (intptr_t)(plane_out * (long)sizeof(float)));
        }
    }
    free(table);
    free(splits);
    return 1;
}

/// The tile kernel of a SIMD level, NULL where the level has none.
static const pk_direct_kernel *kernel_for_level(int level) {
#if defined(__x86_64__)
    if (level >= 2) return pk_direct_kernel_avx512();
    if (level == 1) return pk_direct_kernel_avx2();
#elif defined(__aarch64__)
    if (level >= 1) return pk_direct_kernel_neon();
#endif
    (void)level;
    return NULL;
}

int pk_conv_direct(int level, const float *packed, long M, const pk_conv_shape *g, const float *x,
                   long x_image_stride, long j0, long j1, float *y, long y_image_stride) {
    if (!pk_conv_direct_supports(level, g)) return 0;
    if (M <= 0 || j1 <= j0) return 1;
    return conv_direct_run(kernel_for_level(level), packed, M, g, x, x_image_stride, j0, j1, y, y_image_stride);
}

int pk_conv_direct_available(int level) { return kernel_for_level(level) != NULL; }

int pk_conv_direct_supports(int level, const pk_conv_shape *g) {
    // 1x1 convs without padding are plain GEMMs on the input itself: left to the GEMM kernels.
    const int pointwise = g->kernel_h == 1 && g->kernel_w == 1 && g->padding == 0;
    return kernel_for_level(level) != NULL && g->stride == 1 && g->out_w == g->width && g->kernel_h <= 7
        && g->kernel_w <= 7 && g->out_h * g->out_w >= DNR_MAX && g->channels > 0 && !pointwise;
}
