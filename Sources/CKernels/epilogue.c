// The epilogue of a product (pk_epilogue): a folded batch norm's per-row scale and shift, an
// optional residual and a clamp, applied to C in place. The GEMM driver applies it to each
// row block's column panels, up to 8 at a time, right after their last K block is stored (at
// most a few hundred rows of 128 or 256 columns, still in L1/L2), so a conv followed by
// an eval-mode batch norm, its ReLU/ReLU6 and a residual add writes its output once; the
// whole-matrix form serves kernels that complete their sums elsewhere (Winograd, direct conv).
#include "CKernels.h"
#include "internal.h"

/// One row: y[j] = clamp(y[j] * s + t (+ r[j])). NaN passes through the clamp (comparisons with
/// NaN are false), as in relu() and relu6(). The residual never overlaps the output. The loops are
/// vectorised 8 wide without interleaving: the tile form's rows are 16 or 32 columns, which a
/// wider interleaved loop would leave to its remainder loop.
#if defined(__clang__)
#define PK_EPILOGUE_LOOP _Pragma("clang loop vectorize_width(8) interleave_count(1)")
#else
#define PK_EPILOGUE_LOOP
#endif
PK_BODY void epilogue_row_body(float *restrict y, long n, float s, float t, const float *restrict r, float lo, float hi) {
    if (r) {
        PK_EPILOGUE_LOOP
        for (long j = 0; j < n; ++j) {
            const float v = y[j] * s + t + r[j];
            y[j] = v < lo ? lo : v > hi ? hi : v;
        }
    } else {
        PK_EPILOGUE_LOOP
        for (long j = 0; j < n; ++j) {
            const float v = y[j] * s + t;
            y[j] = v < lo ? lo : v > hi ? hi : v;
        }
    }
}

#if defined(__clang__)
#define PK_SCALAR_LOOP _Pragma("clang loop vectorize(disable)")
#else
#define PK_SCALAR_LOOP
#endif

/// The m × n block at `c` whose first element is C[row, col]: each row in runs of 16 (a constant
/// count once inlined: whole vectors, no remainder), then its last n % 16 values. The row and run loops are kept scalar, so the compiler vectorises along
/// the row instead of gathering across rows.
PK_BODY void epilogue_tile_body(const pk_epilogue *ep, float *c, long ldc, long row, long col, int m, int n) {
    const float lo = ep->lower, hi = ep->upper;
    const int runs = n - n % 16;
    PK_SCALAR_LOOP
    for (int i = 0; i < m; ++i) {
        const long r = row + i;
        const float s = ep->scale[r], t = ep->shift[r];
        float *y = c + i * ldc;
        const float *res = ep->residual ? ep->residual + r * ep->ldr + col : NULL;
        PK_SCALAR_LOOP
        for (int j = 0; j < runs; j += 16) epilogue_row_body(y + j, 16, s, t, res ? res + j : NULL, lo, hi);
        if (runs < n) epilogue_row_body(y + runs, n - runs, s, t, res ? res + runs : NULL, lo, hi);
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
