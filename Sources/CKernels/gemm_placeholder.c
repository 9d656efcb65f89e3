#include "CKernels.h"
// Placeholder portable GEMM (replaced by the dispatching kernels).
void pk_sgemm(int tA, int tB, long M, long N, long K, float alpha,
              const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    for (long i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0) { for (long j = 0; j < N; j++) c[j] = 0; }
        else if (beta != 1) { for (long j = 0; j < N; j++) c[j] *= beta; }
        for (long k = 0; k < K; k++) {
            float a = alpha * (tA ? A[k * lda + i] : A[i * lda + k]);
            if (!tB) { const float *b = B + k * ldb; for (long j = 0; j < N; j++) c[j] += a * b[j]; }
            else { for (long j = 0; j < N; j++) c[j] += a * B[j * ldb + k]; }
        }
    }
}
int pk_simd_level(void) { return 0; }
int pk_set_simd_level(int level) { (void)level; return 0; }
