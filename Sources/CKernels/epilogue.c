// The epilogue of a product (pk_epilogue): a folded batch norm's per-row scale and shift, an
// optional residual and a clamp, applied to C in place. The GEMM driver applies it to each tile
// right after the tile's last K block is stored (the tile is still in L1), so a conv followed by
// an eval-mode batch norm, its ReLU/ReLU6 and a residual add writes its output once; the
// whole-matrix form serves kernels that complete their sums elsewhere (Winograd, direct conv).
#include "CKernels.h"
#include "internal.h"

/// One row: y[j] = clamp(y[j] * s + t (+ r[j])). NaN passes through the clamp (comparisons with
/// NaN are false), as in relu() and relu6(). The residual never overlaps the output.
PK_BODY void epilogue_row_body(float *restrict y, long n, float s, float t, const float *restrict r, float lo, float hi) {
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

/// The m × n tile at `c` whose first element is C[row, col].
PK_BODY void epilogue_tile_body(const pk_epilogue *ep, float *c, long ldc, long row, long col, int m, int n) {
    for (int i = 0; i < m; ++i) {
        const long r = row + i;
        epilogue_row_body(c + i * ldc, n, ep->scale[r], ep->shift[r],
                          ep->residual ? ep->residual + r * ep->ldr + col : NULL, ep->lower, ep->upper);
    }
}

/// Rows [0, rows) × columns [0, n) of C.
PK_BODY void epilogue_rows_body(const pk_epilogue *ep, float *C, long ldc, long rows, long n) {
    for (long i = 0; i < rows; ++i)
        epilogue_row_body(C + i * ldc, n, ep->scale[i], ep->shift[i], ep->residual ? ep->residual + i * ep->ldr : NULL,
                          ep->lower, ep->upper);
}

PK_LEVEL_VARIANTS(void, epilogue_tile, (const pk_epilogue *ep, float *c, long ldc, long row, long col, int m, int n),
                  (ep, c, ldc, row, col, m, n))
PK_LEVEL_VARIANTS(void, epilogue_rows, (const pk_epilogue *ep, float *C, long ldc, long rows, long n), (ep, C, ldc, rows, n))

void pk_epilogue_tile(const pk_epilogue *ep, float *c, long ldc, long row, long col, int m, int n) {
    PK_DISPATCH(epilogue_tile, (ep, c, ldc, row, col, m, n))
}

void pk_apply_epilogue(const pk_epilogue *ep, float *C, long ldc, long rows, long n) {
    PK_DISPATCH(epilogue_rows, (ep, C, ldc, rows, n))
}
