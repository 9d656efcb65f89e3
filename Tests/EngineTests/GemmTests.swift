import Engine
import TestSupport
import XCTest

/// Products with a pre-packed left operand, on one thread and split across two, against the
/// plain product.
final class GemmTests: XCTestCase {
    func testPackedLeftOperandMatchesThePlainProduct() {
        let saved = Threads.count
        defer { Threads.count = saved }
        // (transA, m, n, k): n ≥ m splits columns with the packed panels; n < m falls back to rows.
        let cases: [(Bool, Int, Int, Int)] = [(false, 40, 400, 70), (true, 40, 400, 70), (false, 300, 40, 100), (true, 33, 17, 9)]
        for threads in [1, 2] {
            Threads.count = threads
            for (transA, m, n, k) in cases {
                let a = randomTensor([m * k], seed: 1), b = randomTensor([k * n], seed: 2)
                let lda = transA ? m : k
                let want = Tensor(zeros: [m, n]), got = randomTensor([m, n], seed: 3)
                Gemm.single(transA: transA, m: m, n: n, k: k, a: a.pointer, lda: lda, b: b.pointer, ldb: n, c: want.pointer, ldc: n)
                let packed = PackedMatrix(transA: transA, m: m, k: k, a: a.pointer, lda: lda)
                Gemm.parallel(packed, n: n, b: b.pointer, ldb: n, c: got.pointer, ldc: n)
                assertClose(got, want, rtol: 1e-5, atol: 1e-5, "transA \(transA) \(m)×\(n)×\(k), \(threads) threads")
                // beta = 1 accumulates.
                Gemm.single(packed, n: n, b: b.pointer, ldb: n, beta: 1, c: got.pointer, ldc: n)
                Vector.scale(want.pointer, 2, count: want.count)
                assertClose(got, want, rtol: 1e-5, atol: 1e-5, "beta 1, transA \(transA) \(m)×\(n)×\(k)")
            }
        }
    }
}
