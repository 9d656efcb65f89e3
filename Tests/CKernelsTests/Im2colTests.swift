import CKernels
import XCTest

/// pk_im2col against the definition of the column matrix, and pk_col2im as its exact adjoint,
/// over geometries that take the shifted-plane fast path and ones that do not.
final class Im2colTests: XCTestCase {
    /// (channels, height, width, kernel, stride, padding)
    let geometries: [(Int, Int, Int, Int, Int, Int)] = [
        (2, 7, 7, 3, 1, 1), (3, 28, 28, 3, 1, 1), (2, 6, 9, 3, 1, 1),   // "same" 3×3: fast path
        (1, 5, 5, 5, 1, 2), (2, 4, 4, 1, 1, 0), (2, 8, 8, 7, 1, 3),     // other same-width shapes
        (2, 9, 9, 3, 2, 1), (3, 8, 8, 3, 2, 1), (2, 8, 8, 1, 2, 0),     // strided
        (2, 7, 5, 3, 1, 0), (1, 6, 6, 3, 1, 2), (1, 3, 3, 5, 1, 2),     // valid, over-padded, kernel > image
        (2, 11, 11, 7, 2, 3),
    ]

    func shape(_ g: (Int, Int, Int, Int, Int, Int)) -> pk_conv_shape {
        let (c, h, w, k, s, p) = g
        return pk_conv_shape(channels: c, height: h, width: w, kernel_h: k, kernel_w: k, stride: s, padding: p,
                             out_h: (h + 2 * p - k) / s + 1, out_w: (w + 2 * p - k) / s + 1)
    }

    func testUnfoldMatchesTheDefinitionWithPaddedRows() {
        var rng = Rng(state: 11)
        for g in geometries {
            var sh = shape(g)
            let plane = sh.out_h * sh.out_w, rows = sh.channels * sh.kernel_h * sh.kernel_w
            let ldc = plane + 5
            let x = (0..<(sh.channels * sh.height * sh.width)).map { _ in rng.float() }
            var col = [Float](repeating: .nan, count: rows * ldc)
            pk_im2col(x, &sh, &col, ldc)
            for c in 0..<sh.channels { for i in 0..<sh.kernel_h { for j in 0..<sh.kernel_w {
                let r = (c * sh.kernel_h + i) * sh.kernel_w + j
                for y in 0..<sh.out_h { for t in 0..<sh.out_w {
                    let iy = y * sh.stride - sh.padding + i, ix = t * sh.stride - sh.padding + j
                    let inside = iy >= 0 && iy < sh.height && ix >= 0 && ix < sh.width
                    let want = inside ? x[(c * sh.height + iy) * sh.width + ix] : 0
                    XCTAssertEqual(col[r * ldc + y * sh.out_w + t], want, "\(g) row \(r) pixel (\(y), \(t))")
                }}
                // The padding between rows of the column matrix is left untouched.
                XCTAssert(col[r * ldc + plane..<(r + 1) * ldc].allSatisfy(\.isNaN), "\(g) wrote past row \(r)")
            }}}
        }
    }

    /// ⟨im2col(x), d⟩ = ⟨x, col2im(d)⟩ for random x and d: col2im adds each entry to exactly the
    /// pixel im2col read it from, and drops padding entries.
    func testFoldIsTheAdjointOfUnfold() {
        var rng = Rng(state: 12)
        for g in geometries {
            var sh = shape(g)
            let plane = sh.out_h * sh.out_w, rows = sh.channels * sh.kernel_h * sh.kernel_w
            let n = sh.channels * sh.height * sh.width
            let x = (0..<n).map { _ in rng.float() }
            let d = (0..<(rows * plane)).map { _ in rng.float() }
            var scratch = d
            var col = [Float](repeating: 0, count: rows * plane)
            pk_im2col(x, &sh, &col, plane)
            let dx0 = (0..<n).map { _ in rng.float() }
            var dx = dx0
            pk_col2im(&scratch, plane, &sh, &dx)
            var lhs = 0.0, rhs = 0.0
            for i in 0..<(rows * plane) { lhs += Double(col[i]) * Double(d[i]) }
            for i in 0..<n { rhs += Double(x[i]) * Double(dx[i] - dx0[i]) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "\(g)")
        }
    }

    /// pk_im2col_rows over any block of output rows equals those columns of the whole-image
    /// column matrix, and pk_col2im_rows over the blocks of an image adds up to pk_col2im.
    func testRowBlocksMatchTheWholeImage() {
        var rng = Rng(state: 13)
        for g in geometries {
            var sh = shape(g)
            let oh = sh.out_h, ow = sh.out_w, plane = oh * ow, rows = sh.channels * sh.kernel_h * sh.kernel_w
            let n = sh.channels * sh.height * sh.width
            let x = (0..<n).map { _ in rng.float() }
            var full = [Float](repeating: 0, count: rows * plane)
            pk_im2col(x, &sh, &full, plane)
            let d = (0..<(rows * plane)).map { _ in rng.float() }
            var scratch = d
            var dxFull = [Float](repeating: 0, count: n)
            pk_col2im(&scratch, plane, &sh, &dxFull)
            for blockRows in 1...max(1, oh - 1) {
                var dxBlocks = [Float](repeating: 0, count: n)
                for y0 in stride(from: 0, to: oh, by: blockRows) {
                    let y1 = min(oh, y0 + blockRows), width = (y1 - y0) * ow, ldc = width + 3
                    var col = [Float](repeating: .nan, count: rows * ldc)
                    pk_im2col_rows(x, &sh, y0, y1, &col, ldc)
                    var dBlock = [Float](repeating: 0, count: rows * ldc)
                    for r in 0..<rows {
                        for t in 0..<width {
                            XCTAssertEqual(col[r * ldc + t], full[r * plane + y0 * ow + t], "\(g) rows \(y0)..<\(y1) row \(r) column \(t)")
                            dBlock[r * ldc + t] = d[r * plane + y0 * ow + t]
                        }
                        XCTAssert(col[r * ldc + width..<(r + 1) * ldc].allSatisfy(\.isNaN), "\(g) rows \(y0)..<\(y1) wrote past row \(r)")
                    }
                    pk_col2im_rows(&dBlock, ldc, &sh, y0, y1, &dxBlocks)
                }
                for i in 0..<n {
                    XCTAssertEqual(dxBlocks[i], dxFull[i], accuracy: 1e-5, "\(g) blocks of \(blockRows) rows, pixel \(i)")
                }
            }
        }
    }
}
