import CKernels
import XCTest

/// pk_max_pool2d against the 2-D scan that defines F.max_pool2d's choice: the first maximum in
/// row-major window order, a NaN winning (the last one scanned), padding never chosen.
final class MaxPoolTests: XCTestCase {
    /// (height, width, kernel, stride, padding)
    let geometries: [(Int, Int, Int, Int, Int)] = [
        (8, 8, 3, 2, 1), (7, 9, 3, 2, 1), (6, 6, 2, 2, 0), (5, 7, 3, 1, 1), (9, 9, 5, 2, 2), (4, 4, 4, 4, 0), (1, 5, 3, 2, 1),
        (1, 2, 3, 2, 1), (11, 40, 3, 2, 1), (10, 37, 3, 2, 1), (6, 35, 3, 2, 0),
    ]

    func reference(_ x: [Float], _ h: Int, _ w: Int, _ k: Int, _ s: Int, _ p: Int) -> (values: [Float], argmax: [Int32]) {
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        var values = [Float](), argmax = [Int32]()
        for r in 0..<oh { for q in 0..<ow {
            var best = -Float.infinity, at = -1
            for i in 0..<k { for j in 0..<k {
                let iy = r * s - p + i, ix = q * s - p + j
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                let v = x[iy * w + ix]
                if at < 0 || v > best || v.isNaN { best = v; at = iy * w + ix }
            }}
            values.append(best); argmax.append(Int32(at))
        }}
        return (values, argmax)
    }

    func testMatchesTheScanWithTiesAndNaNAtEveryLevel() {
        var rng = Rng(state: 21)
        let saved = pk_simd_level()   // PRACTISE_SIMD reruns: restore the level in force
        defer { _ = pk_set_simd_level(saved) }
        for level in 0...2 where pk_set_simd_level(Int32(level)) == level {
            for (h, w, k, s, p) in geometries {
                var sh = pk_conv_shape(channels: 1, height: h, width: w, kernel_h: k, kernel_w: k, stride: s, padding: p,
                                       out_h: (h + 2 * p - k) / s + 1, out_w: (w + 2 * p - k) / s + 1)
                let planes = 3, outPlane = sh.out_h * sh.out_w
                // Few distinct values, so windows hold ties; a NaN or two in the last plane.
                var x = (0..<(planes * h * w)).map { _ in Float(Int(rng.float() * 4)) - 2 }
                x[2 * h * w + (h * w) / 2] = .nan
                if h * w > 3 { x[2 * h * w + 1] = .nan }
                var y = [Float](repeating: 7, count: planes * outPlane), idx = [Int32](repeating: -9, count: planes * outPlane)
                XCTAssertEqual(pk_max_pool2d(x, planes, &sh, &y, &idx), 0)
                var yOnly = [Float](repeating: 7, count: planes * outPlane)
                XCTAssertEqual(pk_max_pool2d(x, planes, &sh, &yOnly, nil), 0)
                for pl in 0..<planes {
                    let want = reference(Array(x[pl * h * w..<(pl + 1) * h * w]), h, w, k, s, p)
                    for o in 0..<outPlane {
                        let what = "level \(level) \(h)×\(w) k\(k) s\(s) p\(p) plane \(pl) output \(o)"
                        XCTAssertEqual(idx[pl * outPlane + o], want.argmax[o], what)
                        for got in [y[pl * outPlane + o], yOnly[pl * outPlane + o]] {
                            if want.values[o].isNaN { XCTAssert(got.isNaN, what) } else { XCTAssertEqual(got, want.values[o], what) }
                        }
                    }
                }
            }
        }
    }
}
