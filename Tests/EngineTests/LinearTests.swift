@testable import Engine
import CKernels
import TestSupport
import XCTest

/// `linear` for a few rows (the row-by-row product of `pk_rows_times_rows`) against the GEMM it
/// replaces there, at every SIMD level this CPU has and on 1 and 2 threads.
final class LinearTests: XCTestCase {
    /// (rows, outputs, inputs): inputs that are not a multiple of the kernel's 16 lanes, one and
    /// four rows (one 4-row group) and three, a weight large enough to be split across threads,
    /// and five rows, past the few-row path, as a control.
    let cases: [(Int, Int, Int)] = [(1, 37, 53), (3, 10, 16), (4, 9, 7), (2, 600, 500), (4, 1000, 300), (5, 21, 40)]

    func testFewRowsMatchTheGemm() {
        forEachSIMDLevelAndThreadCount { label in
            for (i, (rows, outputs, inputs)) in cases.enumerated() {
                let x = randomTensor([rows, inputs], seed: UInt64(10 + i))
                let w = randomTensor([outputs, inputs], seed: UInt64(20 + i))
                let b = randomTensor([outputs], seed: UInt64(30 + i))
                let y = linear(x, weight: w, bias: b)
                let want = Tensor(uninitialized: [rows, outputs])
                Gemm.single(transB: true, m: rows, n: outputs, k: inputs, a: x.pointer, lda: inputs, b: w.pointer,
                            ldb: inputs, c: want.pointer, ldc: outputs)
                for r in 0..<rows { Vector.add(want.pointer + r * outputs, b.pointer, count: outputs) }
                assertClose(y, want, rtol: 1e-5, atol: 5e-5, "\(label), \(rows)×\(inputs) · \(outputs)×\(inputs)ᵀ")
            }
        }
    }

    func testFewRowsGradientsAreTheGemmsGradients() {
        // The backward pass is unchanged (GEMMs); checked here through the new forward.
        let x = randomTensor([2, 6], seed: 1), w = randomTensor([5, 6], seed: 2), b = randomTensor([5], seed: 3)
        let r = randomTensor([2, 5], seed: 4)
        gradCheck([x, w, b]) { ins in weightedSum(linear(ins[0], weight: ins[1], bias: ins[2]), r) }
    }
}
