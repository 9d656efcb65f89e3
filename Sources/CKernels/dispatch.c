// Public entry points: SIMD level detection / override and the pk_sgemm front end.
//
// On x86-64 the level is detected once from cpuid (via __builtin_cpu_supports, which also checks
// that the OS saves the wider register state) and can be lowered with
// PRACTISE_SIMD=avx512|avx2|portable or, for tests, with pk_set_simd_level. On aarch64, NEON is
// part of the architecture: level 1 (LEVEL_VECTOR) is NEON there, and PRACTISE_SIMD=neon|portable. The chosen level selects a pk_kernel_desc (micro-kernel,
// packers and blocking sizes) that the shared blocked driver in driver.c runs.
#include "CKernels.h"
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/// Level 1 is AVX2 + FMA on x86-64 and NEON on aarch64.
enum { LEVEL_PORTABLE = 0, LEVEL_AVX2 = 1, LEVEL_NEON = 1, LEVEL_AVX512 = 2 };

/// Highest level the CPU (and OS) supports; -1 until detected.
static _Atomic int g_cpu_level = -1;
/// Level currently in force; -1 until initialised from the CPU and the environment.
static _Atomic int g_level = -1;

static int detect_cpu_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    int fma = __builtin_cpu_supports("fma");
    if (fma && __builtin_cpu_supports("avx2")) {
        if (__builtin_cpu_supports("avx512f")) return LEVEL_AVX512;
        return LEVEL_AVX2;
    }
#elif defined(__aarch64__)
    return LEVEL_NEON;
#endif
    return LEVEL_PORTABLE;
}

static int cpu_level(void) {
    int lv = atomic_load_explicit(&g_cpu_level, memory_order_relaxed);
    if (lv < 0) {
        lv = detect_cpu_level();  // idempotent, so a racing duplicate detection is harmless
        atomic_store_explicit(&g_cpu_level, lv, memory_order_relaxed);
    }
    return lv;
}

static int clamp_level(int level) {
    int cap = cpu_level();
    if (level < LEVEL_PORTABLE) level = LEVEL_PORTABLE;
    return level > cap ? cap : level;
}

/// Level requested by PRACTISE_SIMD, or the CPU's own level when unset or unrecognised.
static int env_level(void) {
    const char *s = getenv("PRACTISE_SIMD");
    if (s) {
        if (strcmp(s, "avx512") == 0) return clamp_level(LEVEL_AVX512);
        if (strcmp(s, "avx2") == 0) return clamp_level(LEVEL_AVX2);
        if (strcmp(s, "neon") == 0) return clamp_level(LEVEL_NEON);
        if (strcmp(s, "portable") == 0) return LEVEL_PORTABLE;
    }
    return cpu_level();
}

int pk_simd_level(void) {
    int lv = atomic_load_explicit(&g_level, memory_order_relaxed);
    if (lv < 0) {
        int expected = -1;
        int fresh = env_level();
        // Only the first initialiser wins, so a concurrent pk_set_simd_level is not overwritten.
        if (atomic_compare_exchange_strong(&g_level, &expected, fresh)) lv = fresh;
        else lv = expected;
    }
    return lv;
}

const char *pk_simd_level_name(int level) {
#if defined(__x86_64__)
    if (level >= LEVEL_AVX512) return "avx512";
    if (level == LEVEL_AVX2) return "avx2";
#elif defined(__aarch64__)
    if (level >= LEVEL_NEON) return "neon";
#endif
    return "portable";
}

int pk_set_simd_level(int level) {
    int lv = clamp_level(level);
    atomic_store_explicit(&g_level, lv, memory_order_relaxed);
    return lv;
}

const pk_kernel_desc *pk_desc_for_level(int level) {
#if defined(__x86_64__)
    if (level >= LEVEL_AVX512) return pk_desc_avx512();
    if (level == LEVEL_AVX2) return pk_desc_avx2();
#elif defined(__aarch64__)
    if (level >= LEVEL_NEON) return pk_desc_neon();
#else
    (void)level;
#endif
    return pk_desc_portable();
}

/// C = beta * C for the degenerate cases (K == 0 or alpha == 0). beta == 0 stores zeros.
static void scale_c(long M, long N, float beta, float *C, long ldc) {
    if (beta == 1.0f) return;
    for (long i = 0; i < M; ++i) {
        float *c = C + i * ldc;
        if (beta == 0.0f) {
            for (long j = 0; j < N; ++j) c[j] = 0.0f;
        } else {
            for (long j = 0; j < N; ++j) c[j] *= beta;
        }
    }
}

void pk_sgemm(int transA, int transB, long M, long N, long K, float alpha,
              const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    pk_gemm_blocked(pk_desc_for_level(pk_simd_level()), transA != 0, transB != 0, M, N, K,
                    alpha, A, lda, NULL, 0, 0, B, ldb, beta, C, ldc, NULL, 0);
}

size_t pk_sgemm_packed_a_size(int level, long M, long K) {
    return M > 0 && K > 0 ? pk_packed_a_floats(pk_desc_for_level(level), M, K) : 0;
}

void pk_sgemm_pack_a(int level, int transA, long M, long K, const float *A, long lda, float *packed) {
    if (M > 0 && K > 0) pk_pack_a_all(pk_desc_for_level(level), transA != 0, A, lda, M, K, packed);
}

void pk_sgemm_packed(int level, int transA, int transB, long M, long N, long K, float alpha,
                     const float *A, long lda, const float *packed, const float *B, long ldb,
                     float beta, float *C, long ldc) {
    pk_sgemm_packed_rows(level, transA, transB, M, 0, M, N, K, alpha, A, lda, packed, B, ldb, beta, C, ldc);
}

long pk_sgemm_packed_row_unit(int level) { return pk_desc_for_level(level)->mr; }

void pk_sgemm_packed_rows(int level, int transA, int transB, long M, long row0, long rows, long N, long K,
                          float alpha, const float *A, long lda, const float *packed, const float *B,
                          long ldb, float beta, float *C, long ldc) {
    if (rows <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(rows, N, beta, C, ldc);
        return;
    }
    pk_gemm_blocked(pk_desc_for_level(level), transA != 0, transB != 0, rows, N, K, alpha, NULL, lda, packed,
                    row0, M, B, ldb, beta, C, ldc, NULL, 0);
}

void pk_sgemm_packed_rows_epilogue(int level, int transA, int transB, long M, long row0, long rows, long N,
                                   long K, const float *packed, const float *B, long ldb, float *C, long ldc,
                                   const pk_epilogue *ep) {
    if (rows <= 0 || N <= 0) return;
    if (K <= 0) {
        scale_c(rows, N, 0.0f, C, ldc);
        if (ep) pk_apply_epilogue(ep, C, ldc, rows, N);
        return;
    }
    pk_gemm_blocked(pk_desc_for_level(level), transA != 0, transB != 0, rows, N, K, 1.0f, NULL, 0, packed,
                    row0, M, B, ldb, 0.0f, C, ldc, ep, 1);
}
