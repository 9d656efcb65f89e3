// Portable packing routines.
//
// A packed panel of width w (w = MR for A, w = NR for B) stores, for each k in [0, kc), the w
// values of that k step contiguously: panel[k * w + t]. Rows/columns beyond the matrix edge are
// zero-filled, so micro-kernels can always run on full-width vectors. Consecutive panels follow
// each other (panel p starts at dst + p * kc * w).
//
// Depending on the transpose flag, the w values of one k step are either contiguous in the
// source ("copy" case: op(A) with transA, op(B) without transB) or one per source row, i.e. a
// transpose ("gather" case). Both are written so the compiler can unroll them for the constant
// panel widths used by the micro-kernels.
#include "internal.h"

#include <string.h>

#define PK_INLINE static inline __attribute__((always_inline))

/// dst[k*w + t] = src[k*ld + t] for t < valid, zero for valid <= t < w.
/// (memcpy with a constant length compiles to a few vector moves.)
PK_INLINE void pack_copy(const float *restrict src, long ld, long kc, int w, int valid,
                         float *restrict dst) {
    if (valid == w) {
        for (long k = 0; k < kc; ++k) memcpy(dst + k * w, src + k * ld, sizeof(float) * (size_t)w);
    } else {
        for (long k = 0; k < kc; ++k) {
            float *d = dst + k * w;
            memcpy(d, src + k * ld, sizeof(float) * (size_t)valid);
            memset(d + valid, 0, sizeof(float) * (size_t)(w - valid));
        }
    }
}

/// dst[k*w + t] = src[t*ld + k] for t < valid, zero for valid <= t < w (a blocked transpose:
/// 8 k steps at a time so each source row is read in 32-byte runs).
PK_INLINE void pack_gather(const float *restrict src, long ld, long kc, int w, int valid,
                           float *restrict dst) {
    long k = 0;
    for (; k + 8 <= kc; k += 8) {
        for (int t = 0; t < valid; ++t) {
            const float *s = src + t * ld + k;
            float *d = dst + k * w + t;
            for (int u = 0; u < 8; ++u) d[u * w] = s[u];
        }
    }
    for (; k < kc; ++k) {
        for (int t = 0; t < valid; ++t) dst[k * w + t] = src[t * ld + k];
    }
    if (valid < w) {
        for (long kk = 0; kk < kc; ++kk) {
            for (int t = valid; t < w; ++t) dst[kk * w + t] = 0.0f;
        }
    }
}

/// Packs `count` source lines (rows of op(A) or columns of op(B)) into panels of width w.
/// `copy` selects the contiguous case; `src` points at element (line 0, k 0).
PK_INLINE void pack_panels(int copy, const float *restrict src, long ld, long count, long kc,
                           int w, float *restrict dst) {
    for (long p = 0; p < count; p += w) {
        const int valid = (int)(count - p < w ? count - p : w);
        if (copy) pack_copy(src + p, ld, kc, w, valid, dst + p * kc);
        else pack_gather(src + p * ld, ld, kc, w, valid, dst + p * kc);
    }
}

/// Dispatches on the panel width so the common widths get fully unrolled inner loops.
static void pack_any(int copy, const float *src, long ld, long count, long kc, int w,
                     float *dst) {
    switch (w) {
    case 4: pack_panels(copy, src, ld, count, kc, 4, dst); break;
    case 6: pack_panels(copy, src, ld, count, kc, 6, dst); break;
    case 12: pack_panels(copy, src, ld, count, kc, 12, dst); break;
    case 16: pack_panels(copy, src, ld, count, kc, 16, dst); break;
    case 32: pack_panels(copy, src, ld, count, kc, 32, dst); break;
    default: pack_panels(copy, src, ld, count, kc, w, dst); break;
    }
}

void pk_pack_a_generic(int transA, const float *A, long lda, long i0, long k0,
                       long rows, long kc, int mr, float *dst) {
    if (transA) {
        // A stored [K, M]: the MR values of one k step are contiguous.
        pack_any(1, A + k0 * lda + i0, lda, rows, kc, mr, dst);
    } else {
        // A stored [M, K]: one value per source row.
        pack_any(0, A + i0 * lda + k0, lda, rows, kc, mr, dst);
    }
}

void pk_pack_b_generic(int transB, const float *B, long ldb, long k0, long j0,
                       long kc, long cols, int nr, float *dst) {
    if (transB) {
        // B stored [N, K]: one value per source row.
        pack_any(0, B + j0 * ldb + k0, ldb, cols, kc, nr, dst);
    } else {
        // B stored [K, N]: the NR values of one k step are contiguous.
        pack_any(1, B + k0 * ldb + j0, ldb, cols, kc, nr, dst);
    }
}
