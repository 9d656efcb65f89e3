import CKernels

/// Matrix products on raw row-major buffers, backed by the C micro-kernels.
public enum Gemm {
    /// `C[M,N] = alpha * op(A) * op(B) + beta * C` on the calling thread.
    /// `op(A)` is `[M,K]` (A stored `[K,M]` when `transA`), `op(B)` is `[K,N]` (B stored `[N,K]` when `transB`).
    @inline(__always)
    public static func single(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                              alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, ldb: Int,
                              beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        pk_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// The same product split across the engine's threads (by columns of C when `n >= m`, else rows).
    public static func parallel(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let flops = 2 * m * n * k
        if Threads.count == 1 || flops < 2_000_000 {
            single(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if n >= m {
            // Split columns of C (and of op(B)); keep chunks a multiple of 16 for the vector tiles.
            let blocks = (n + 15) / 16
            Parallel.chunks(blocks) { r in
                let j0 = r.lowerBound * 16, j1 = min(n, r.upperBound * 16)
                let bOff = transB ? j0 * ldb : j0
                single(transA: transA, transB: transB, m: m, n: j1 - j0, k: k, alpha: alpha, a: a, lda: lda,
                       b: b + bOff, ldb: ldb, beta: beta, c: c + j0, ldc: ldc)
            }
        } else {
            Parallel.chunks(m) { r in
                let aOff = transA ? r.lowerBound : r.lowerBound * lda
                single(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha, a: a + aOff, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
            }
        }
    }
}
