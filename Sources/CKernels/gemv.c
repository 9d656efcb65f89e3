// Products of a few rows with a row-major matrix's rows: y[r][o] = x[r] · w[o] (a linear layer
// y = x·Wᵀ at batch 1–4). The GEMM would pack (transpose) all of W for every call to multiply it
// by so few rows; here each row of W is read once, straight from memory, for all rows of x.
#include "CKernels.h"
#include "internal.h"

enum { LANES = 16 };

/// Dot products of `rows` (1..4) rows of x (`ldx` apart) with one row w of length k, into
/// y[r * ldy]. LANES partial sums per row vectorise without reassociating a single sum.
PK_BODY void dot_rows_body(const float *restrict x, long ldx, int rows, const float *restrict w, long k,
                           float *restrict y, long ldy) {
    float acc[4][LANES] = {{0}};
    long j = 0;
    for (; j + LANES <= k; j += LANES)
        for (int r = 0; r < 4; ++r) {
            if (r >= rows) break;
            for (int l = 0; l < LANES; ++l) acc[r][l] += x[r * ldx + j + l] * w[j + l];
        }
    for (int r = 0; r < rows; ++r) {
        float s = 0.0f;
        for (int l = 0; l < LANES; ++l) s += acc[r][l];
        for (long t = j; t < k; ++t) s += x[r * ldx + t] * w[t];
        y[r * ldy] = s;
    }
}

PK_BODY void rows_times_rows_body(const float *x, long ldx, long m, const float *w, long ldw, long k,
                                  long o0, long o1, float *y, long ldy) {
    for (long r0 = 0; r0 < m; r0 += 4) {
        const int rows = m - r0 < 4 ? (int)(m - r0) : 4;
        for (long o = o0; o < o1; ++o) dot_rows_body(x + r0 * ldx, ldx, rows, w + o * ldw, k, y + r0 * ldy + o, ldy);
    }
}

PK_LEVEL_VARIANTS(void, rows_times_rows,
                  (const float *x, long ldx, long m, const float *w, long ldw, long k, long o0, long o1, float *y,
                   long ldy),
                  (x, ldx, m, w, ldw, k, o0, o1, y, ldy))

void pk_rows_times_rows(const float *x, long ldx, long m, const float *w, long ldw, long k, long o0, long o1,
                        float *y, long ldy) {
    PK_DISPATCH(rows_times_rows, (x, ldx, m, w, ldw, k, o0, o1, y, ldy))
}
