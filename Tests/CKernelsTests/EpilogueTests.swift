import CKernels
import Foundation
import XCTest

/// The product epilogue (epilogue.c): pk_sgemm_packed_rows_epilogue against pk_sgemm_packed
/// followed by the epilogue computed here in double, and pk_apply_epilogue in place.
final class EpilogueTests: SIMDLevelTestCase {
    /// `clamp(c · scale[i] + shift[i] + residual[i, j])` of a plain product, row by row.
    private func expected(_ c: [Float], rows: Int, n: Int, ldc: Int, scale: [Float], shift: [Float], residual: [Float]?,
                          ldr: Int, lower: Float, upper: Float) -> [Float] {
        var out = c
        for i in 0..<rows {
            for j in 0..<n {
                var v = Double(c[i * ldc + j]) * Double(scale[i]) + Double(shift[i])
                if let residual { v += Double(residual[i * ldr + j]) }
                out[i * ldc + j] = Float(min(max(v, Double(lower)), Double(upper)))
            }
        }
        return out
    }

    /// Shapes with several K blocks (the epilogue must wait for the last), edge tiles in both
    /// dimensions, a row range starting inside the matrix, padded leading dimensions; with and
    /// without a residual and a clamp, at every level this CPU runs.
    func testPackedProductWithEpilogueEqualsProductThenEpilogue() {
        var rng = Rng(state: 0x5eed)
        // (M, N, K, row0, rows, padC)
        let shapes = [(7, 19, 5, 0, 7, 0), (33, 50, 600, 0, 33, 3), (48, 17, 300, 12, 24, 1), (1, 1, 1, 0, 1, 0), (20, 300, 64, 6, 13, 0),
                      (250, 3300, 9, 0, 250, 1)]  // several row and column blocks (mc, nc), column groups and a partial last panel
        for level in levels {
            _ = pk_set_simd_level(level)
            let unit = Int(pk_sgemm_packed_row_unit(level))
            for (m, n, k, row0Wanted, rowsWanted, padC) in shapes {
                let row0 = row0Wanted / unit * unit, rows = min(rowsWanted, m - row0)
                let a = (0..<(m * k)).map { _ in rng.float() }
                let b = (0..<(k * n)).map { _ in rng.float() }
                var packed = [Float](repeating: 0, count: max(pk_sgemm_packed_a_size(level, m, k), 1))
                pk_sgemm_pack_a(level, 0, m, k, a, k, &packed)
                let ldc = n + padC, ldr = n + 2
                let scale = (0..<m).map { _ in rng.float() * 2 }, shift = (0..<m).map { _ in rng.float() }
                let residual = (0..<(m * ldr)).map { _ in rng.float() }
                var plain = [Float](repeating: 0, count: rows * ldc)
                pk_sgemm_packed_rows(level, 0, 0, m, row0, rows, n, k, 1, nil, 0, packed, b, n, 0, &plain, ldc)
                for (withResidual, lower, upper) in [(false, -Float.infinity, Float.infinity), (true, -Float.infinity, Float.infinity),
                                                     (true, 0, Float.infinity), (false, 0, 6)] {
                    let label = "level \(level) M=\(m) N=\(n) K=\(k) rows \(row0)..<\(row0 + rows) residual \(withResidual) clamp [\(lower), \(upper)]"
                    var got = [Float](repeating: .nan, count: rows * ldc)
                    scale.withUnsafeBufferPointer { sp in shift.withUnsafeBufferPointer { tp in residual.withUnsafeBufferPointer { rp in
                        var e = pk_epilogue(scale: sp.baseAddress! + row0, shift: tp.baseAddress! + row0,
                                            residual: withResidual ? rp.baseAddress! + row0 * ldr : nil, ldr: ldr,
                                            lower: lower, upper: upper)
                        pk_sgemm_packed_rows_epilogue(level, 0, 0, m, row0, rows, n, k, packed, b, n, &got, ldc, &e)
                    } } }
                    let want = expected(plain, rows: rows, n: n, ldc: ldc, scale: Array(scale[row0...]), shift: Array(shift[row0...]),
                                        residual: withResidual ? Array(residual[(row0 * ldr)...]) : nil, ldr: ldr, lower: lower, upper: upper)
                    for i in 0..<rows {
                        for j in 0..<n {
                            let g = got[i * ldc + j], w = want[i * ldc + j]
                            XCTAssertFalse(g.isNaN, "\(label): C[\(i), \(j)] not written")
                            XCTAssertEqual(g, w, accuracy: 1e-5 * max(1, abs(w)), "\(label): C[\(i), \(j)]")
                        }
                    }
                    if padC > 0 { XCTAssertTrue(got[n].isNaN, "\(label): the padding of C's rows is not written") }
                }
            }
        }
    }

    /// The epilogue product reads B in place at the levels that can (rows `ldb` apart, only the
    /// valid columns): B set at the very end of a readable page, followed by an inaccessible one,
    /// with edge panels in the last rows; and a leading dimension of 512 floats, which packs
    /// instead. Both equal the packed product.
    func testInPlaceBReadsNothingPastTheMatrix() throws {
        #if os(Linux) || os(macOS)
        var rng = Rng(state: 0xb0b)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for level in levels {
            _ = pk_set_simd_level(level)
            for (m, n, k, ldb) in [(13, 37, 21, 37), (24, 5, 300, 9), (12, 33, 40, 512), (30, 100, 7, 100)] {
                let bytes = (k * ldb) * 4
                let span = (bytes + page - 1) / page * page
                let raw = mmap(nil, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
                XCTAssertNotEqual(raw, MAP_FAILED)
                defer { munmap(raw, span + page) }
                XCTAssertEqual(mprotect(raw + span, page, PROT_NONE), 0)
                // The last valid column of the last row is the last float before the guard page.
                let b = (raw + span - bytes).bindMemory(to: Float.self, capacity: k * ldb)
                for i in 0..<(k * ldb) { b[i] = rng.float() }
                let a = (0..<(m * k)).map { _ in rng.float() }
                var packed = [Float](repeating: 0, count: max(pk_sgemm_packed_a_size(level, m, k), 1))
                pk_sgemm_pack_a(level, 0, m, k, a, k, &packed)
                var plain = [Float](repeating: 0, count: m * n)
                pk_sgemm_packed_rows(level, 0, 0, m, 0, m, n, k, 1, nil, 0, packed, b, ldb, 0, &plain, n)
                let ones = [Float](repeating: 1, count: m), zeros = [Float](repeating: 0, count: m)
                var got = [Float](repeating: .nan, count: m * n)
                ones.withUnsafeBufferPointer { sp in zeros.withUnsafeBufferPointer { tp in
                    var e = pk_epilogue(scale: sp.baseAddress, shift: tp.baseAddress, residual: nil, ldr: 0,
                                        lower: -.infinity, upper: .infinity)
                    pk_sgemm_packed_rows_epilogue(level, 0, 0, m, 0, m, n, k, packed, b, ldb, &got, n, &e)
                } }
                XCTAssertEqual(got, plain, "level \(level) M=\(m) N=\(n) K=\(k) ldb=\(ldb)")
            }
        }
        #endif
    }

    /// In place over a matrix whose sums are complete; NaN passes through the clamp.
    func testApplyInPlaceAndNaNPassesThrough() {
        for level in levels {
            _ = pk_set_simd_level(level)
            var c: [Float] = [1, -2, .nan, 8, 0.5, -0.25, 3, 10, 100]
            let scale: [Float] = [2, -1, 1], shift: [Float] = [0, 1, -1]
            let residual: [Float] = [0, 0, 0, 1, 1, 1, -1, -1, -1]
            scale.withUnsafeBufferPointer { sp in shift.withUnsafeBufferPointer { tp in residual.withUnsafeBufferPointer { rp in
                var e = pk_epilogue(scale: sp.baseAddress, shift: tp.baseAddress, residual: rp.baseAddress, ldr: 3, lower: 0, upper: 6)
                pk_apply_epilogue(&e, &c, 3, 3, 3)
            } } }
            let want: [Float] = [2, 0, .nan, 0, 1.5, 2.25, 1, 6, 6]
            for (i, (g, w)) in zip(c, want).enumerated() {
                if w.isNaN { XCTAssertTrue(g.isNaN, "level \(level): element \(i) must stay NaN, got \(g)") }
                else { XCTAssertEqual(g, w, "level \(level): element \(i)") }
            }
        }
    }
}
