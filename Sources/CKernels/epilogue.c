// The epilogue of a product (pk_epilogue): a folded batch norm's per-row scale and shift, an
// optional residual and a clamp, applied to C in place. The GEMM driver applies it to each tile
// right after the tile's last K block is stored (the tile is still in L1), so a conv followed by
// an eval-mode batch norm, its ReLU/ReLU6 and a residual add writes its output once; the
// whole-matrix form serves kernels that complete their sums elsewhere (Winograd, direct conv).
#include "CKernels.h"
#include "internal.h"

/// One row: y[j] = clamp(y[j] * s + t (+ r[j])). NaN passes through the clamp (comparisons with
/// NaN are false), as in relu() and relu6().
PK_BODY void epilogue_row_body(float *y, long n, float s, float t, const float *r, float lo, float hi) {
    if (r) {
        for (long j = 0; j < n; ++j) {
            const float v = y[j] * s + t + r[j];
            y[j] = v < lo ? lo : v > hi ? hi : v;
        }
    } else {
        for (long j = 0; j < n; ++j) {
            const float v = y[j] * s + t;
            y[j] = v < lo ? lo : v > hi ? hi : v;
        }
    }
}
PK_LEVEL_VARIANTS(void, epilogue_row, (float *y, long n, float s, float t, const float *r, float lo, float hi),
                  (y, n, s, t, r, lo, hi))

// The tile form is compiled once, at the driver's level: a tile row is at most one micro-kernel
// tile wide (16 or 32 floats), too short for a dispatched call to pay.
void pk_epilogue_tile(const pk_epilogue *ep, float *c, long ldc, long row, long col, int m, int n) {
    for (int i = 0; i < m; ++i) {
        const long r = row + i;
        epilogue_row_body(c + i * ldc, n, ep->scale[r], ep->shift[r],
                          ep->residual ? ep->residual + r * ep->ldr + col : NULL, ep->lower, ep->upper);
    }
}

void pk_apply_epilogue(const pk_epilogue *ep, float *C, long ldc, long rows, long n) {
    for (long i = 0; i < rows; ++i) {
        const float *r = ep->residual ? ep->residual + i * ep->ldr : NULL;
        float *y = C + i * ldc;
        const float s = ep->scale[i], t = ep->shift[i], lo = ep->lower, hi = ep->upper;
        switch (pk_simd_level()) {
#if defined(__x86_64__)
            case 2: epilogue_row_avx512(y, n, s, t, r, lo, hi); break;
            case 1: epilogue_row_avx2(y, n, s, t, r, lo, hi); break;
#endif
            default: epilogue_row_portable(y, n, s, t, r, lo, hi); break;
        }
    }
}
