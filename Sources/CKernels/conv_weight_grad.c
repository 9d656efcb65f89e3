// Weight gradient of a 3x3 stride-1 same-width conv (padding 1), directly from the images:
//
//     dW[o][c][i][q] = sum over images n and output pixels (y, x) of
//                      gy[n][o][y][x] * x[n][c][y + i - 1][x + q - 1]   (zero outside the image)
//
// Vectors run over output channels, so each pixel contributes vectors of gy (its output
// channels, from a transposed copy gy_t[pixel][o]) times scalars of the input, broadcast
// straight from a zero-bordered copy of the image: no masks, no unaligned vectors, and the
// accumulators are dW entries, never reduced across lanes. A level's kernel holds as many such
// accumulators as its registers allow over all pixels of a block of images (AVX-512: 16 output
// channels x 3 input channels x 9 taps, conv_weight_grad_avx512.c; AVX2: 16 x 2 x 3 taps of one
// kernel row, conv_weight_grad_avx2.c) and adds them into a transposed dW, dw_t[c * 9 + t][o],
// written back at the end. This file holds the copies and the loop over blocks.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { WG_LANES = 16, WG_TAPS = 9, WG_BLOCK_PIXELS = 512 };

/// The weight-gradient kernels of a SIMD level, NULL where the level has none.
static const pk_weight_grad_kernel *kernel_for_level(int level) {
#if defined(__x86_64__)
    if (level >= 2) return pk_weight_grad_kernel_avx512();
    if (level == 1) return pk_weight_grad_kernel_avx2();
#elif defined(__aarch64__)
    if (level >= 1) return pk_weight_grad_kernel_neon();
#endif
    (void)level;
    return NULL;
}

static int weight_grad_run(const pk_weight_grad_kernel *kern, const pk_conv_shape *g, long M, const float *x,
                           long x_image_stride, const float *gy, long gy_image_stride, long images, float *dw) {
    const long C = g->channels, H = g->height, W = g->width, plane = H * W;
    const long wp = W + 2, plane_p = (H + 2) * wp, K = C * WG_TAPS;
    const long ldg = (M + WG_LANES - 1) / WG_LANES * WG_LANES;  // gy_t row: all output channels
    const long block = plane >= WG_BLOCK_PIXELS ? 1 : (WG_BLOCK_PIXELS + plane - 1) / plane;
    const size_t gyt_floats = (size_t)(block * plane * ldg), xp_floats = (size_t)(block * C * plane_p);
    float *gyt = NULL, *xp = NULL, *dwt = NULL;
    if (posix_memalign((void **)&gyt, 64, gyt_floats * sizeof(float)) ||
        posix_memalign((void **)&xp, 64, xp_floats * sizeof(float)) ||
        posix_memalign((void **)&dwt, 64, (size_t)(K * ldg) * sizeof(float))) {
        free(gyt); free(xp); free(dwt);
        return 0;
    }
    memset(dwt, 0, (size_t)(K * ldg) * sizeof(float));
    memset(xp, 0, xp_floats * sizeof(float));  // borders stay zero; interiors are overwritten
    for (long n0 = 0; n0 < images; n0 += block) {
        const long nb = images - n0 < block ? images - n0 : block;
        for (long n = 0; n < nb; ++n) {
            kern->transpose(gy + (n0 + n) * gy_image_stride, M, plane, gyt + n * plane * ldg, ldg);
            for (long c = 0; c < C; ++c) {
                const float *s = x + (n0 + n) * x_image_stride + c * plane;
                float *d = xp + (n * C + c) * plane_p + wp + 1;
                for (long y = 0; y < H; ++y) memcpy(d + y * wp, s + y * W, (size_t)W * sizeof(float));
            }
        }
        for (long o0 = 0; o0 < ldg; o0 += WG_LANES)
            kern->outputs16(gyt + o0, ldg, xp, plane_p, C * plane_p, wp, H, W, nb, C, dwt + o0, ldg);
    }
    for (long o = 0; o < M; ++o)
        for (long k = 0; k < K; ++k) dw[o * K + k] += dwt[k * ldg + o];
    free(gyt); free(xp); free(dwt);
    return 1;
}

int pk_conv_direct_weight_grad_supports(int level, const pk_conv_shape *g) {
    return kernel_for_level(level) != NULL && pk_conv_direct_supports(level, g) && g->kernel_h == 3
        && g->kernel_w == 3 && g->padding == 1;
}

int pk_conv_direct_weight_grad(int level, const pk_conv_shape *g, long M, const float *x, long x_image_stride,
                               const float *gy, long gy_image_stride, long images, float *dw) {
    if (!pk_conv_direct_weight_grad_supports(level, g)) return 0;
    if (M <= 0 || images <= 0) return 1;
    return weight_grad_run(kernel_for_level(level), g, M, x, x_image_stride, gy, gy_image_stride, images, dw);
}
