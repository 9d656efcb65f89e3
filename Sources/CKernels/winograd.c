// Winograd F(2x2, 3x3) transforms for stride-1 3x3 convolutions (Lavin & Gray, 2016).
//
// The output is cut into 2x2 tiles; tile (ty, tx) reads the 4x4 input patch starting at
// (2ty - padding, 2tx - padding), zero outside the image. With
//     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
//     A^T = [1 1 1 0; 0 1 -1 -1],
// a tile of output channel o is A^T [ sum_c (G g_oc G^T) .* (B^T d_c B) ] A: the 3x3 conv
// becomes 16 independent matrix products (one per position xi = 4i + j of the 4x4 transformed
// tile) M_xi[o, t] = sum_c U_xi[o, c] V_xi[c, t], 4 multiplies per output pixel and channel
// instead of 9. These loops do the transforms; the products run on the GEMM kernels.
//
// The loops run over a whole row of tiles at once (tx innermost, unit stride in V and M), so the
// compiler vectorises them; the stride-2 input reads and output writes go through a padded row
// buffer. Compiled once per SIMD level like im2col.
#include "CKernels.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_TW = 1024 };  // tiles per row handled with stack buffers (inputs up to 2048 wide)

/// The column transform of input row iy of channel plane `x` `[H, W]` over a row of tw tiles:
/// t[j][tx] = (d B)[j] for the 4 inputs d = x[iy, 2tx - p .. 2tx - p + 3] (zero outside the image).
PK_BODY void column_transform_body(const float *x, long H, long W, long p, long iy, long tw, float t[4][MAX_TW]) {
    if (iy < 0 || iy >= H) {
        for (int j = 0; j < 4; ++j) memset(t[j], 0, sizeof(float) * (size_t)tw);
        return;
    }
    // row[q] = x[iy, q - p], zero outside the image: the zero borders and one copy of the row
    // (a test per element made this copy a third of the transform's instructions).
    float row[2 * MAX_TW + 4];
    const long len = 2 * tw + 2, inside = W < len - p ? W : len - p;  // p <= 2 < len
    memset(row, 0, sizeof(float) * (size_t)p);
    memcpy(row + p, x + iy * W, sizeof(float) * (size_t)inside);
    if (p + inside < len) memset(row + p + inside, 0, sizeof(float) * (size_t)(len - p - inside));
    for (long tx = 0; tx < tw; ++tx) {
        const float d0 = row[2 * tx], d1 = row[2 * tx + 1], d2 = row[2 * tx + 2], d3 = row[2 * tx + 3];
        t[0][tx] = d0 - d2;
        t[1][tx] = d1 + d2;
        t[2][tx] = d2 - d1;
        t[3][tx] = d1 - d3;
    }
}

/// Tile rows [ty0, ty1) of channels [c0, c1): v[xi * xi_stride + c * ldv + (ty - ty0) * tw + tx].
/// Consecutive tile rows overlap by two input rows, so each input row's column transform is
/// computed once and kept in a ring of four row slots.
PK_BODY void input_body(const float *x, const pk_conv_shape *g, long c0, long c1, long ty0, long ty1,
                        float *v, long ldv, long xi_stride) {
    const long tw = (g->out_w + 1) / 2, plane = g->height * g->width, H = g->height, W = g->width, p = g->padding;
    float t[4][4][MAX_TW];
    for (long c = c0; c < c1; ++c) {
        const float *xc = x + c * plane;
        int slot[4] = {0, 1, 2, 3};  // slot[r]: the buffer of patch row r of the current tile row
        for (long ty = ty0; ty < ty1; ++ty) {
            if (ty == ty0) {
                for (int r = 0; r < 4; ++r) column_transform_body(xc, H, W, p, 2 * ty - p + r, tw, t[slot[r]]);
            } else {
                // Patch rows 0 and 1 are the previous tile row's rows 2 and 3.
                const int s0 = slot[0], s1 = slot[1];
                slot[0] = slot[2]; slot[1] = slot[3]; slot[2] = s0; slot[3] = s1;
                column_transform_body(xc, H, W, p, 2 * ty - p + 2, tw, t[slot[2]]);
                column_transform_body(xc, H, W, p, 2 * ty - p + 3, tw, t[slot[3]]);
            }
            // Row transform: V[i][j] = (B^T t)[i][j].
            float *vrow = v + c * ldv + (ty - ty0) * tw;
            for (int j = 0; j < 4; ++j) {
                float *v0 = vrow + (0 * 4 + j) * xi_stride, *v1 = vrow + (1 * 4 + j) * xi_stride;
                float *v2 = vrow + (2 * 4 + j) * xi_stride, *v3 = vrow + (3 * 4 + j) * xi_stride;
                const float *t0 = t[slot[0]][j], *t1 = t[slot[1]][j], *t2 = t[slot[2]][j], *t3 = t[slot[3]][j];
                for (long tx = 0; tx < tw; ++tx) {
                    v0[tx] = t0[tx] - t2[tx];
                    v1[tx] = t1[tx] + t2[tx];
                    v2[tx] = t2[tx] - t1[tx];
                    v3[tx] = t1[tx] - t3[tx];
                }
            }
        }
    }
}
PK_LEVEL_VARIANTS(void, input, (const float *x, const pk_conv_shape *g, long c0, long c1, long ty0, long ty1, float *v, long ldv, long xi_stride),
                  (x, g, c0, c1, ty0, ty1, v, ldv, xi_stride))

/// Output rows 2ty, 2ty+1 of channel plane `y` `[OH, OW]` from m[xi * xi_stride + tx].
PK_BODY void output_row_body(const float *m, long xi_stride, long OH, long OW, long ty, long tw, float *y) {
    float s[2][4][MAX_TW];
    // Row transform: s[a][j] = (A^T M)[a][j].
    for (int j = 0; j < 4; ++j) {
        const float *m0 = m + (0 * 4 + j) * xi_stride, *m1 = m + (1 * 4 + j) * xi_stride;
        const float *m2 = m + (2 * 4 + j) * xi_stride, *m3 = m + (3 * 4 + j) * xi_stride;
        for (long tx = 0; tx < tw; ++tx) {
            s[0][j][tx] = m0[tx] + m1[tx] + m2[tx];
            s[1][j][tx] = m1[tx] - m2[tx] - m3[tx];
        }
    }
    float row[2 * MAX_TW];
    for (int a = 0; a < 2; ++a) {
        const long oy = 2 * ty + a;
        if (oy >= OH) break;
        for (long tx = 0; tx < tw; ++tx) {
            row[2 * tx] = s[a][0][tx] + s[a][1][tx] + s[a][2][tx];
            row[2 * tx + 1] = s[a][1][tx] - s[a][2][tx] - s[a][3][tx];
        }
        memcpy(y + oy * OW, row, sizeof(float) * (size_t)OW);
    }
}

PK_BODY void output_body(const float *m, long ldm, long xi_stride, const pk_conv_shape *g, long o0, long o1,
                         long ty0, long ty1, float *y) {
    const long tw = (g->out_w + 1) / 2, plane = g->out_h * g->out_w;
    for (long o = o0; o < o1; ++o)
        for (long ty = ty0; ty < ty1; ++ty)
            output_row_body(m + o * ldm + (ty - ty0) * tw, xi_stride, g->out_h, g->out_w, ty, tw, y + o * plane);
}
PK_LEVEL_VARIANTS(void, output, (const float *m, long ldm, long xi_stride, const pk_conv_shape *g, long o0, long o1, long ty0, long ty1, float *y),
                  (m, ldm, xi_stride, g, o0, o1, ty0, ty1, y))

int pk_winograd_supports(const pk_conv_shape *g) {
    return g->kernel_h == 3 && g->kernel_w == 3 && g->stride == 1 && g->padding <= 2 && g->out_h > 0 &&
           g->out_w > 0 && (g->out_w + 1) / 2 <= MAX_TW;
}

void pk_winograd_input(const float *x, const pk_conv_shape *g, long c0, long c1, long ty0, long ty1,
                       float *v, long ldv, long xi_stride) {
    PK_DISPATCH(input, (x, g, c0, c1, ty0, ty1, v, ldv, xi_stride))
}

void pk_winograd_output(const float *m, long ldm, long xi_stride, const pk_conv_shape *g, long o0, long o1,
                        long ty0, long ty1, float *y) {
    PK_DISPATCH(output, (m, ldm, xi_stride, g, o0, o1, ty0, ty1, y))
}

/// U = G k G^T for one 3x3 kernel k, written transposed: u[xi * xi_stride + c * O + o].
static inline void weight_tile(const float *k, long O, long xi_stride, long c, long o, float *u) {
    float t[4][3];  // G k (4x3)
    for (int j = 0; j < 3; ++j) {
        t[0][j] = k[j];
        t[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
        t[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
        t[3][j] = k[6 + j];
    }
    for (int i = 0; i < 4; ++i) {
        const float r[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]),
                            t[i][2]};
        for (int j = 0; j < 4; ++j) u[(i * 4 + j) * xi_stride + c * O + o] = r[j];
    }
}

void pk_winograd_weight(const float *w, long O, long C, long c0, long c1, float *u, long xi_stride) {
    // 16 x 16 blocks of (o, c), so the reads (16 kernels of 16 output channels) and the writes
    // (16 output channels in each of 16 x 16 rows of u) stay in L1. The caller pads xi_stride
    // off a multiple of 4 KB: 16 write streams a power of two apart would share cache sets
    // (that made this 10x slower for 512 channels).
    enum { B = 16 };
    for (long cb = c0; cb < c1; cb += B) {
        const long ce = cb + B < c1 ? cb + B : c1;
        for (long ob = 0; ob < O; ob += B) {
            const long oe = ob + B < O ? ob + B : O;
            for (long c = cb; c < ce; ++c)
                for (long o = ob; o < oe; ++o) weight_tile(w + (o * C + c) * 9, O, xi_stride, c, o, u);
        }
    }
}
