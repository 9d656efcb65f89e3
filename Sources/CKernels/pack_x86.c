// AVX2 packing routines, used by the AVX2 and AVX-512 levels.
//
// Packing op(A) from A[M,K] (NN/NT) or op(B) from B[N,K] (NT/TT) needs dst[k*w + t] =
// src[t*ld + k]: a transpose of a (w x kc) strip. Doing it one float at a time costs as much as
// a large fraction of the FMAs when the other GEMM dimension is small (e.g. N = 49), so this
// file transposes 8 x 8 (and 4 x 8) blocks in registers: 8 row loads, 24 shuffles, 8 stores.
// The contiguous ("copy") case is a row copy; its partial edge panel uses masked loads.
#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx2")))
#define INL static inline __attribute__((always_inline)) TGT

/// Transposes rows r0..r3 (8 k values each): on return out[v] (v < 4) holds
/// (r0[v], r1[v], r2[v], r3[v]) in its low 128 bits and the same for k = v + 4 in its high half.
INL void transpose_4x8(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 out[4]) {
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    out[0] = _mm256_shuffle_ps(t0, t2, 0x44);  // k = 0 | 4
    out[1] = _mm256_shuffle_ps(t0, t2, 0xEE);  // k = 1 | 5
    out[2] = _mm256_shuffle_ps(t1, t3, 0x44);  // k = 2 | 6
    out[3] = _mm256_shuffle_ps(t1, t3, 0xEE);  // k = 3 | 7
}

/// Row u of a block (8 k values), or zeros for rows past the matrix edge (u >= nrows).
INL __m256 load_row(const float *s, long ld, int u, int nrows) {
    return u < nrows ? _mm256_loadu_ps(s + u * ld) : _mm256_setzero_ps();
}

/// dst[(k+v)*w + t] = s[t*ld + k + v] for t < 8, v < 8 (zero for t >= nrows).
INL void block_8x8(const float *s, long ld, int nrows, float *dst, int w) {
    __m256 a[4], b[4];
    transpose_4x8(load_row(s, ld, 0, nrows), load_row(s, ld, 1, nrows),
                  load_row(s, ld, 2, nrows), load_row(s, ld, 3, nrows), a);
    transpose_4x8(load_row(s, ld, 4, nrows), load_row(s, ld, 5, nrows),
                  load_row(s, ld, 6, nrows), load_row(s, ld, 7, nrows), b);
    for (int v = 0; v < 4; ++v) {
        _mm256_storeu_ps(dst + v * w, _mm256_permute2f128_ps(a[v], b[v], 0x20));
        _mm256_storeu_ps(dst + (v + 4) * w, _mm256_permute2f128_ps(a[v], b[v], 0x31));
    }
}

/// dst[(k+v)*w + t] = s[t*ld + k + v] for t < 4, v < 8 (zero for t >= nrows).
INL void block_4x8(const float *s, long ld, int nrows, float *dst, int w) {
    __m256 a[4];
    transpose_4x8(load_row(s, ld, 0, nrows), load_row(s, ld, 1, nrows),
                  load_row(s, ld, 2, nrows), load_row(s, ld, 3, nrows), a);
    for (int v = 0; v < 4; ++v) {
        _mm_storeu_ps(dst + v * w, _mm256_castps256_ps128(a[v]));
        _mm_storeu_ps(dst + (v + 4) * w, _mm256_extractf128_ps(a[v], 1));
    }
}

/// Prefetches the 64-byte lines at s + u*ld for u < rows (prefetches never fault, so this may
/// safely point past the matrix).
INL void prefetch_rows(const float *s, long ld, int rows) {
    for (int u = 0; u < rows; ++u) _mm_prefetch((const char *)(s + u * ld), _MM_HINT_T0);
}

/// Transposes the rows [t, t + G) of a panel (G = 8 or 4) into dst columns [t, t + G),
/// substituting zeros for rows at or past `valid`.
/// The source rows are only kc floats long and page-strided, too short for the hardware
/// prefetchers to lock on, so the loop also prefetches the matching lines of the next panel
/// (w rows further down), which the driver packs after one more micro-kernel call.
INL void gather_group(const int G, const float *src, long ld, long kc, int w, int t, int valid,
                      float *dst) {
    const int nrows = valid - t >= G ? G : valid - t > 0 ? valid - t : 0;
    if (nrows == 0) return;  // beyond the 8-lane padding the SIMD kernels read
    const float *s = src + t * ld;
    long k = 0;
    for (; k + 16 <= kc; k += 16) {
        prefetch_rows(s + w * ld + k, ld, G);
        if (G == 8) {
            block_8x8(s + k, ld, nrows, dst + k * w + t, w);
            block_8x8(s + k + 8, ld, nrows, dst + (k + 8) * w + t, w);
        } else {
            block_4x8(s + k, ld, nrows, dst + k * w + t, w);
            block_4x8(s + k + 8, ld, nrows, dst + (k + 8) * w + t, w);
        }
    }
    for (; k + 8 <= kc; k += 8) {
        if (G == 8) block_8x8(s + k, ld, nrows, dst + k * w + t, w);
        else block_4x8(s + k, ld, nrows, dst + k * w + t, w);
    }
    for (; k < kc; ++k)
        for (int u = 0; u < G; ++u) dst[k * w + t + u] = u < nrows ? s[u * ld + k] : 0.0f;
}

/// One panel: dst[k*w + t] = src[t*ld + k] for t < valid, zeros for valid <= t < the end of
/// the 8- or 4-lane group containing valid - 1 (see the padding note in internal.h).
INL void gather_panel(const float *src, long ld, long kc, int w, int valid, float *dst) {
    int t = 0;
    for (; t + 8 <= w; t += 8) gather_group(8, src, ld, kc, w, t, valid, dst);
    for (; t + 4 <= w; t += 4) gather_group(4, src, ld, kc, w, t, valid, dst);
    for (; t < valid; ++t)  // at most 3 leftover rows (w = 6)
        for (long k = 0; k < kc; ++k) dst[k * w + t] = src[t * ld + k];
}

TGT static void gather_any(const float *src, long ld, long count, long kc, int w, float *dst) {
    for (long p = 0; p < count; p += w) {
        const int valid = (int)(count - p < w ? count - p : w);
        float *d = dst + p * kc;
        const float *s = src + p * ld;
        // Constant widths let the compiler fold the store offsets.
        switch (w) {
        case 6: gather_panel(s, ld, kc, 6, valid, d); break;
        case 12: gather_panel(s, ld, kc, 12, valid, d); break;
        case 16: gather_panel(s, ld, kc, 16, valid, d); break;
        case 32: gather_panel(s, ld, kc, 32, valid, d); break;
        default: gather_panel(s, ld, kc, w, valid, d); break;
        }
    }
}

/// -1 in the first 8 entries, 0 after: loading 8 ints at (8 - n) gives a mask of n lanes.
static const int g_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// Copy case for a partial panel: dst[k*w + t] = src[k*ld + t] for t < valid, else zero, with
/// masked loads (which never touch the masked-off source elements).
TGT static void copy_partial(const float *src, long ld, long kc, int w, int valid, float *dst) {
    for (int t = 0; t < valid; t += 8) {  // later groups are padding the kernels never read
        const int n = valid - t >= 8 ? 8 : valid - t;
        const __m256i mk = _mm256_loadu_si256((const __m256i *)(g_mask_src + 8 - n));
        if (w - t >= 8) {
            for (long k = 0; k < kc; ++k)
                _mm256_storeu_ps(dst + k * w + t, _mm256_maskload_ps(src + k * ld + t, mk));
        } else {  // w = 6 or the 4-lane tail of w = 12 (A panels: padding rows are never read)
            for (long k = 0; k < kc; ++k)
                for (int u = 0; u < n; ++u) dst[k * w + t + u] = src[k * ld + t + u];
        }
    }
}

/// Copy case: full panels are plain row copies (constant-size memcpy -> vector moves), the edge
/// panel uses the masked copy.
INL void copy_panels(const float *src, long ld, long count, long kc, int w, float *dst) {
    const long full = count / w * w;
    for (long p = 0; p < full; p += w)
        for (long k = 0; k < kc; ++k)
            memcpy(dst + p * kc + k * w, src + k * ld + p, sizeof(float) * (size_t)w);
    if (full < count) copy_partial(src + full, ld, kc, w, (int)(count - full), dst + full * kc);
}

TGT static void copy_any(const float *src, long ld, long count, long kc, int w, float *dst) {
    switch (w) {
    case 6: copy_panels(src, ld, count, kc, 6, dst); break;
    case 12: copy_panels(src, ld, count, kc, 12, dst); break;
    case 16: copy_panels(src, ld, count, kc, 16, dst); break;
    case 32: copy_panels(src, ld, count, kc, 32, dst); break;
    default: copy_panels(src, ld, count, kc, w, dst); break;
    }
}

void pk_pack_a_x86(int transA, const float *A, long lda, long i0, long k0, long rows, long kc,
                   int mr, float *dst) {
    if (transA) copy_any(A + k0 * lda + i0, lda, rows, kc, mr, dst);
    else gather_any(A + i0 * lda + k0, lda, rows, kc, mr, dst);
}

void pk_pack_b_x86(int transB, const float *B, long ldb, long k0, long j0, long kc, long cols,
                   int nr, float *dst) {
    if (transB) gather_any(B + j0 * ldb + k0, ldb, cols, kc, nr, dst);
    else copy_any(B + k0 * ldb + j0, ldb, cols, kc, nr, dst);
}

#endif
