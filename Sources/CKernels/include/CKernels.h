#ifndef PRACTISE_CKERNELS_H
#define PRACTISE_CKERNELS_H
#include <stddef.h>

/// Row-major SGEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
/// transA != 0: A is stored [K,M]; transB != 0: B is stored [N,K].
/// Single-threaded and re-entrant. beta == 0 ignores C's old contents.
void pk_sgemm(int transA, int transB, long M, long N, long K, float alpha,
              const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);
/// 2 = AVX-512F, 1 = AVX2+FMA, 0 = portable C.
int pk_simd_level(void);
/// Force a level (clamped to what the CPU supports); returns the level in force.
int pk_set_simd_level(int level);
#endif
