// Single-threaded SGEMM throughput benchmark: best-of-N GFLOP/s per SIMD level and shape.
// Usage: gemm-bench [reps]            (default 7; the best run is reported, the machine is noisy)
//        BENCH_LEVEL=n restricts the run to one SIMD level.
//        gemm-bench reps tA tB M N K  (one custom shape)
#include "CKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // CPU time: robust to time-slicing on a busy machine
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *rand_buf(long n) {
    float *p = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; ++i) p[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    return p;
}

static void bench(const char *name, int tA, int tB, long M, long N, long K, int reps) {
    float *A = rand_buf(M * K), *B = rand_buf(K * N), *C = rand_buf(M * N);
    long lda = tA ? M : K, ldb = tB ? K : N;
    double flop = 2.0 * M * N * K;
    // Enough inner repetitions that one timed sample takes ~50 ms.
    int inner = (int)(5e9 / flop);
    if (inner < 1) inner = 1;
    printf("%-22s %c%c M=%-5ld N=%-5ld K=%-5ld", name, tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K);
    const char *only = getenv("BENCH_LEVEL");  // e.g. BENCH_LEVEL=2 to time one level only
    for (int level = 2; level >= 0; --level) {
        if (only && atoi(only) != level) continue;
        if (pk_set_simd_level(level) != level) { printf("  L%d:   n/a", level); continue; }
        pk_sgemm(tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);  // warm-up
        double best = 1e30;
        int r = level == 0 ? (reps + 2) / 3 : reps;
        for (int i = 0; i < r; ++i) {
            double t = now();
            for (int j = 0; j < inner; ++j)
                pk_sgemm(tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
            t = (now() - t) / inner;
            if (t < best) best = t;
        }
        printf("  L%d: %6.1f", level, flop / best * 1e-9);
        fflush(stdout);
    }
    printf("  GFLOP/s\n");
    free(A); free(B); free(C);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    printf("SIMD level in force: %d (columns: L2 = AVX-512, L1 = AVX2, L0 = portable)\n", pk_simd_level());
    if (argc == 7) {
        bench("custom", atoi(argv[2]), atoi(argv[3]), atol(argv[4]), atol(argv[5]),
              atol(argv[6]), reps);
        return 0;
    }
    bench("square", 0, 0, 1024, 1024, 1024, reps);
    bench("conv 3x3 64ch 56x56", 0, 0, 64, 3136, 576, reps);
    bench("conv 3x3 256ch 14x14", 0, 0, 256, 196, 2304, reps);
    bench("conv 3x3 512ch 7x7", 0, 0, 512, 49, 4608, reps);
    bench("conv first 3ch 112^2", 0, 0, 16, 12544, 27, reps);
    bench("wgrad dW=dY*col^T", 0, 1, 64, 576, 3136, reps);
    bench("dgrad W^T*dY", 1, 0, 576, 3136, 64, reps);
    bench("classifier", 0, 1, 64, 10, 512, reps);
    return 0;
}
