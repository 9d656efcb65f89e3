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
            Parallel.alignedChunks(n, unit: 16) { r in
                let bOff = transB ? r.lowerBound * ldb : r.lowerBound
                single(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
                       b: b + bOff, ldb: ldb, beta: beta, c: c + r.lowerBound, ldc: ldc)
            }
        } else {
            Parallel.chunks(m) { r in
                let aOff = transA ? r.lowerBound : r.lowerBound * lda
                single(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha, a: a + aOff, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
            }
        }
    }

    /// `C[M,N] = op(A) * op(B) + beta * C` with `op(A)` packed beforehand, on the calling thread.
    @inline(__always)
    public static func single(_ a: PackedMatrix, transB: Bool = false, n: Int, b: UnsafePointer<Float>, ldb: Int,
                              beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if a.m == 0 || n == 0 { return }
        pk_sgemm_packed(a.level, a.transposed ? 1 : 0, transB ? 1 : 0, a.m, n, a.k, 1, nil, 0, a.buffer,
                        b, ldb, beta, c, ldc)
    }

    /// The same split across the engine's threads: by columns of C when `n >= m`, else by
    /// row panels of the packed `op(A)`.
    public static func parallel(_ a: PackedMatrix, transB: Bool = false, n: Int, b: UnsafePointer<Float>, ldb: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if Threads.count == 1 || 2 * a.m * n * a.k < 2_000_000 {
            single(a, transB: transB, n: n, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else if n >= a.m {
            Parallel.alignedChunks(n, unit: 16) { r in
                let j0 = r.lowerBound
                single(a, transB: transB, n: r.count, b: b + (transB ? j0 * ldb : j0), ldb: ldb, beta: beta, c: c + j0, ldc: ldc)
            }
        } else {
            Parallel.alignedChunks(a.m, unit: pk_sgemm_packed_row_unit(a.level)) { r in
                pk_sgemm_packed_rows(a.level, a.transposed ? 1 : 0, transB ? 1 : 0, a.m, r.lowerBound, r.count, n, a.k, 1,
                                     nil, 0, a.buffer, b, ldb, beta, c + r.lowerBound * ldc, ldc)
            }
        }
    }
}

extension Gemm {
    /// `C[M,N] = op(A) · B` with `epilogue` applied to each column panel of C as its sum completes
    /// (rows of C index the epilogue's scale, shift and residual), on the calling thread.
    static func single(_ a: PackedMatrix, n: Int, b: UnsafePointer<Float>, ldb: Int,
                       c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: pk_epilogue) {
        if a.m == 0 || n == 0 { return }
        var e = epilogue
        pk_sgemm_packed_rows_epilogue(a.level, a.transposed ? 1 : 0, 0, a.m, 0, a.m, n, a.k, a.buffer, b, ldb, c, ldc, &e)
    }

    /// The same split across the engine's threads, as ``parallel(_:transB:n:b:ldb:beta:c:ldc:)``.
    static func parallel(_ a: PackedMatrix, n: Int, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: pk_epilogue) {
        if Threads.count == 1 || 2 * a.m * n * a.k < 2_000_000 {
            single(a, n: n, b: b, ldb: ldb, c: c, ldc: ldc, epilogue: epilogue)
        } else if n >= a.m {
            Parallel.alignedChunks(n, unit: 16) { r in
                let j0 = r.lowerBound
                single(a, n: r.count, b: b + j0, ldb: ldb, c: c + j0, ldc: ldc, epilogue: epilogue.offset(rows: 0, columns: j0))
            }
        } else {
            Parallel.alignedChunks(a.m, unit: pk_sgemm_packed_row_unit(a.level)) { r in
                var e = epilogue.offset(rows: r.lowerBound, columns: 0)
                pk_sgemm_packed_rows_epilogue(a.level, a.transposed ? 1 : 0, 0, a.m, r.lowerBound, r.count, n, a.k, a.buffer,
                                              b, ldb, c + r.lowerBound * ldc, ldc, &e)
            }
        }
    }
}

/// The left operand `op(A)` `[M, K]` of many products, packed once into the GEMM kernels' panel
/// layout (for the SIMD level in force when packing). Self-contained: `A` is read only while
/// packing.
public final class PackedMatrix: @unchecked Sendable {
    public let m: Int, k: Int
    let transposed: Bool
    let level: Int32
    let buffer: UnsafeMutablePointer<Float>

    /// Packs `op(A)`: `A` stored `[M, K]` (leading dimension `lda`), or `[K, M]` when `transA`.
    public init(transA: Bool = false, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int) {
        self.m = m; self.k = k; transposed = transA
        level = pk_simd_level()
        let size = max(pk_sgemm_packed_a_size(level, m, k), 1)
        buffer = .allocate(capacity: size)
        pk_sgemm_pack_a(level, transA ? 1 : 0, m, k, a, lda, buffer)
    }

    deinit { buffer.deallocate() }
}
