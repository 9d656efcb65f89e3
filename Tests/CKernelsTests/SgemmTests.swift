import CKernels
import XCTest

/// One GEMM problem with (possibly padded) leading dimensions, checked against a double-precision
/// reference computed from the same inputs.
private struct Case: CustomStringConvertible {
    var transA: Bool, transB: Bool
    var m: Int, n: Int, k: Int
    var alpha: Float, beta: Float
    var padA = 0, padB = 0, padC = 0

    var lda: Int { (transA ? m : k) + padA }
    var ldb: Int { (transB ? k : n) + padB }
    var ldc: Int { n + padC }
    var description: String {
        "\(transA ? "T" : "N")\(transB ? "T" : "N") M=\(m) N=\(n) K=\(k) alpha=\(alpha) beta=\(beta) "
            + "lda=\(lda) ldb=\(ldb) ldc=\(ldc)"
    }
}

final class SgemmTests: SIMDLevelTestCase {
    /// Runs `c` at the current SIMD level and returns the largest error relative to the
    /// magnitude of the reference (max |ref| over the matrix, at least 1).
    /// With `prepacked`, op(A) is packed first (pk_sgemm_pack_a) and multiplied by pk_sgemm_packed.
    private func run(_ c: Case, rng: inout Rng, poisonC: Bool = false, prepacked: Bool = false) -> Double {
        let aRows = c.transA ? c.k : c.m, bRows = c.transB ? c.n : c.k
        let a = (0..<(aRows * c.lda)).map { _ in rng.float() }
        let b = (0..<(bRows * c.ldb)).map { _ in rng.float() }
        var out = (0..<(c.m * c.ldc)).map { _ in poisonC ? Float.nan : rng.float() }
        let c0 = out

        var maxRef = 1.0
        var ref = [Double](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s = 0.0
                for p in 0..<c.k {
                    let av = c.transA ? a[p * c.lda + i] : a[i * c.lda + p]
                    let bv = c.transB ? b[j * c.ldb + p] : b[p * c.ldb + j]
                    s += Double(av) * Double(bv)
                }
                var r = Double(c.alpha) * s
                if c.beta != 0 { r += Double(c.beta) * Double(c0[i * c.ldc + j]) }
                ref[i * c.n + j] = r
                maxRef = max(maxRef, abs(r))
            }
        }

        if prepacked {
            let level = pk_simd_level()
            var packed = [Float](repeating: .nan, count: max(pk_sgemm_packed_a_size(level, c.m, c.k), 1))
            pk_sgemm_pack_a(level, c.transA ? 1 : 0, c.m, c.k, a, c.lda, &packed)
            // A itself is poisoned: the product must come from the packed panels alone.
            let poisoned = [Float](repeating: .nan, count: a.count)
            pk_sgemm_packed(level, c.transA ? 1 : 0, c.transB ? 1 : 0, c.m, c.n, c.k, c.alpha, poisoned, c.lda,
                            packed, b, c.ldb, c.beta, &out, c.ldc)
        } else {
            pk_sgemm(c.transA ? 1 : 0, c.transB ? 1 : 0, c.m, c.n, c.k, c.alpha, a, c.lda, b, c.ldb,
                     c.beta, &out, c.ldc)
        }

        var worst = 0.0
        for i in 0..<c.m {
            for j in 0..<c.ldc {
                let got = Double(out[i * c.ldc + j])
                if j >= c.n {
                    // Padding columns must be untouched (NaN poison compares via bit pattern).
                    if out[i * c.ldc + j].bitPattern != c0[i * c.ldc + j].bitPattern { return .infinity }
                    continue
                }
                let err = abs(got - ref[i * c.n + j]) / maxRef
                if !(err <= worst) { worst = err.isNaN ? .infinity : err }
            }
        }
        return worst
    }

    private func check(_ cases: [Case], seed: UInt64 = 0x9E37_79B9_7F4A_7C15, poisonC: Bool = false,
                       prepacked: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        for level in levels {
            XCTAssertEqual(pk_set_simd_level(level), level)
            var rng = Rng(state: seed)
            for c in cases {
                let err = run(c, rng: &rng, poisonC: poisonC, prepacked: prepacked)
                XCTAssertLessThan(err, 1e-4 * max(1, sqrt(Double(c.k)) / 8),
                                  "level \(level): \(c)", file: file, line: line)
            }
        }
    }

    func testAllTransposesEdgeSizes() {
        var cases: [Case] = []
        let sizes = [1, 2, 3, 5, 7, 11, 12, 13, 16, 17, 31, 32, 33, 47, 49, 64, 65]
        for (idx, (tA, tB)) in [(false, false), (false, true), (true, false), (true, true)].enumerated() {
            for (s, m) in sizes.enumerated() {
                let n = sizes[(s * 7 + idx * 3) % sizes.count]
                let k = sizes[(s * 5 + idx) % sizes.count]
                cases.append(Case(transA: tA, transB: tB, m: m, n: n, k: k, alpha: 1, beta: 0))
            }
        }
        check(cases)
    }

    func testRandomShapesAlphaBetaStrides() {
        var rng = Rng(state: 12345)
        var cases: [Case] = []
        let alphas: [Float] = [1, -0.5, 2.25]
        let betas: [Float] = [0, 1, -1.5, 0.3]
        for i in 0..<48 {
            cases.append(Case(transA: i % 2 == 1, transB: (i / 2) % 2 == 1,
                              m: rng.int(1...70), n: rng.int(1...90), k: rng.int(1...80),
                              alpha: alphas[i % 3], beta: betas[(i / 3) % 4],
                              padA: rng.int(0...5), padB: rng.int(0...5), padC: rng.int(0...5)))
        }
        check(cases)
    }

    /// Shapes larger than the cache blocks (several K, M and N blocks; beta only on the first
    /// K block) and the project's conv-like aspect ratios, scaled down to keep the reference fast.
    func testBlockedShapes() {
        let cases = [
            Case(transA: false, transB: false, m: 250, n: 70, k: 600, alpha: 1, beta: 0.5, padC: 3),
            Case(transA: false, transB: true, m: 30, n: 40, k: 1100, alpha: 0.5, beta: 1, padB: 1),
            Case(transA: true, transB: false, m: 300, n: 50, k: 20, alpha: 1, beta: 0),
            Case(transA: true, transB: true, m: 45, n: 77, k: 300, alpha: -1, beta: 2),
            Case(transA: false, transB: false, m: 16, n: 3200, k: 9, alpha: 1, beta: 0),
            Case(transA: false, transB: false, m: 10, n: 3, k: 513, alpha: 1, beta: 0),
            Case(transA: false, transB: false, m: 3, n: 3100, k: 27, alpha: 1, beta: 1),
        ]
        check(cases)
    }

    /// A packed once (whole-matrix layout of every K and M block) gives the same products.
    func testPrepackedLeftOperand() {
        var rng = Rng(state: 777)
        var cases = (0..<24).map { i in
            Case(transA: i % 2 == 1, transB: (i / 2) % 2 == 1, m: rng.int(1...70), n: rng.int(1...90), k: rng.int(1...80),
                 alpha: i % 3 == 0 ? 1 : -0.5, beta: i % 4 == 0 ? 0 : 1, padA: rng.int(0...3), padB: rng.int(0...3))
        }
        cases += [
            Case(transA: false, transB: false, m: 250, n: 70, k: 600, alpha: 1, beta: 0.5, padC: 3),
            Case(transA: true, transB: false, m: 300, n: 50, k: 520, alpha: 1, beta: 0),
            Case(transA: true, transB: true, m: 45, n: 77, k: 300, alpha: -1, beta: 2),
        ]
        check(cases, prepacked: true)
    }

    /// beta == 0 must overwrite C even when it holds NaN.
    func testBetaZeroIgnoresNaN() {
        let cases = [
            Case(transA: false, transB: false, m: 13, n: 35, k: 20, alpha: 1, beta: 0, padC: 2),
            Case(transA: true, transB: true, m: 29, n: 17, k: 300, alpha: 2, beta: 0),
            Case(transA: false, transB: true, m: 5, n: 9, k: 0, alpha: 1, beta: 0),
            Case(transA: false, transB: false, m: 7, n: 33, k: 12, alpha: 0, beta: 0),
        ]
        check(cases, poisonC: true)
    }

    /// K == 0 and alpha == 0 reduce to C = beta * C.
    func testDegenerate() {
        let cases = [
            Case(transA: false, transB: false, m: 4, n: 5, k: 0, alpha: 1, beta: 0.5),
            Case(transA: false, transB: false, m: 4, n: 5, k: 7, alpha: 0, beta: -2),
            Case(transA: false, transB: false, m: 4, n: 5, k: 7, alpha: 0, beta: 1),
        ]
        check(cases)
        var c: [Float] = [1, 2]
        pk_sgemm(0, 0, 0, 2, 3, 1, nil, 3, nil, 2, 0, &c, 2)  // M == 0: no-op, no pointer reads
        XCTAssertEqual(c, [1, 2])
    }

    func testSimdLevelClamping() {
        let top = pk_set_simd_level(99)
        XCTAssertTrue((0...2).contains(top))
        XCTAssertEqual(pk_simd_level(), top)
        XCTAssertEqual(pk_set_simd_level(-3), 0)
        XCTAssertEqual(pk_simd_level(), 0)
        for level: Int32 in 0...2 {
            XCTAssertEqual(pk_set_simd_level(level), min(level, top))
        }
        #if arch(arm64)
        XCTAssertEqual(top, 1)  // NEON
        XCTAssertEqual(String(cString: pk_simd_level_name(1)), "neon")
        #elseif arch(x86_64)
        XCTAssertEqual(String(cString: pk_simd_level_name(2)), "avx512")
        XCTAssertEqual(String(cString: pk_simd_level_name(1)), "avx2")
        #else
        XCTAssertEqual(top, 0)  // only the portable path exists elsewhere
        #endif
        XCTAssertEqual(String(cString: pk_simd_level_name(0)), "portable")
    }

    /// Concurrent calls from several threads (thread-local packing buffers) give the same result.
    func testConcurrentCalls() {
        let m = 70, n = 90, k = 300
        var rng = Rng(state: 7)
        let a = (0..<(m * k)).map { _ in rng.float() }
        let b = (0..<(k * n)).map { _ in rng.float() }
        var expected = [Float](repeating: 0, count: m * n)
        pk_sgemm(0, 0, m, n, k, 1, a, k, b, n, 0, &expected, n)
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: 8 * m * n)
        defer { results.deallocate() }
        let address = Int(bitPattern: results.baseAddress!)  // pointers are not Sendable
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            let out = UnsafeMutablePointer<Float>(bitPattern: address)! + t * m * n
            pk_sgemm(0, 0, m, n, k, 1, a, k, b, n, 0, out, n)
        }
        for t in 0..<8 {
            XCTAssertEqual(Array(results[(t * m * n)..<((t + 1) * m * n)]), expected, "thread \(t)")
        }
    }
}
