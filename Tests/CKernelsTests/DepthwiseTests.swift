import CKernels
import Foundation
import XCTest

/// The depthwise plane kernels (depthwise.c, and depthwise_x86.c's in-place kernels at strides
/// 1 and 2 on x86): against a direct loop computed here in double, with the plane between two
/// inaccessible pages, at every level this CPU runs.
final class DepthwiseTests: SIMDLevelTestCase {
    private func shape(_ h: Int, _ w: Int, kernel: (Int, Int), stride: Int, padding: Int) -> pk_conv_shape {
        let (kh, kw) = kernel
        return pk_conv_shape(channels: 1, height: h, width: w, kernel_h: kh, kernel_w: kw, stride: stride, padding: padding,
                             out_h: (h + 2 * padding - kh) / stride + 1, out_w: (w + 2 * padding - kw) / stride + 1)
    }

    /// `min(max(conv · scale + shift, lower), upper)` of one plane, in double.
    private func expected(_ x: UnsafePointer<Float>, _ w: [Float], _ g: pk_conv_shape, _ a: pk_plane_affine?) -> [Float] {
        var out = [Float](repeating: 0, count: g.out_h * g.out_w)
        for r in 0..<g.out_h {
            for q in 0..<g.out_w {
                var acc = 0.0
                for i in 0..<g.kernel_h {
                    for j in 0..<g.kernel_w {
                        let iy = r * g.stride - g.padding + i, ix = q * g.stride - g.padding + j
                        if iy >= 0 && iy < g.height && ix >= 0 && ix < g.width {
                            acc += Double(x[iy * g.width + ix]) * Double(w[i * g.kernel_w + j])
                        }
                    }
                }
                if let a { acc = min(max(acc * Double(a.scale) + Double(a.shift), Double(a.lower)), Double(a.upper)) }
                out[r * g.out_w + q] = Float(acc)
            }
        }
        return out
    }

    /// Each plane once with its first float right after an inaccessible page and once with its
    /// last float right before one (a masked-off lane that read past either end would fault):
    /// strides 1 and 2 (read in place on x86) and 3, 3×3 kernels on planes narrower and wider
    /// than a vector, row counts that are not a multiple of the rows computed together, other
    /// kernels, padding 0 to 3; with and without the affine map. The output has a sentinel after
    /// its last float, which must survive.
    func testMatchesTheDirectLoopWithGuardPagesAroundThePlane() throws {
        #if os(Linux) || os(macOS)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var rng = Rng(state: 0xdeb7)
        // (height, width, kernel, stride, padding)
        let cases: [(Int, Int, (Int, Int), Int, Int)] = [
            (7, 7, (3, 3), 1, 1), (14, 14, (3, 3), 2, 1), (13, 17, (3, 3), 1, 1), (9, 33, (3, 3), 2, 1),
            (6, 70, (3, 3), 1, 1), (11, 64, (3, 3), 2, 1), (5, 1, (3, 3), 1, 1), (1, 40, (3, 3), 2, 1),
            (10, 10, (3, 3), 1, 0), (10, 31, (3, 3), 2, 0), (8, 8, (5, 5), 1, 2), (12, 45, (5, 5), 2, 2),
            (9, 20, (7, 7), 1, 3), (6, 19, (1, 7), 2, 3), (7, 12, (3, 5), 1, 2), (16, 16, (2, 2), 2, 0),
            (9, 9, (3, 3), 3, 1), (5, 5, (3, 3), 1, 3),
        ]
        for level in levels {
            _ = pk_set_simd_level(level)
            for (h, w, kernel, stride, padding) in cases {
                var g = shape(h, w, kernel: kernel, stride: stride, padding: padding)
                let weights = (0..<(kernel.0 * kernel.1)).map { _ in rng.float() }
                let bytes = h * w * 4, span = (bytes + page - 1) / page * page
                let raw = mmap(nil, span + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
                XCTAssertNotEqual(raw, MAP_FAILED)
                defer { munmap(raw, span + 2 * page) }
                XCTAssertEqual(mprotect(raw, page, PROT_NONE), 0)
                XCTAssertEqual(mprotect(raw + page + span, page, PROT_NONE), 0)
                for placement in [page, page + span - bytes] {
                    let x = (raw + placement).bindMemory(to: Float.self, capacity: h * w)
                    for i in 0..<(h * w) { x[i] = rng.float() }
                    for affine in [nil, pk_plane_affine(scale: 0.75, shift: -0.125, lower: 0, upper: 0.5)] {
                        let label = "level \(level) \(h)×\(w) kernel \(kernel) stride \(stride) padding \(padding) "
                            + (affine == nil ? "plain" : "affine") + (placement == page ? ", after a guard page" : ", before a guard page")
                        let count = g.out_h * g.out_w
                        var y = [Float](repeating: .nan, count: count + 1)
                        y[count] = 12345
                        let size = pk_depthwise_scratch_size(&g)
                        var scratch = [Float](repeating: 0, count: max(size, 1))
                        scratch.withUnsafeMutableBufferPointer { s in
                            let sp = size > 0 ? s.baseAddress : nil
                            if var a = affine {
                                pk_depthwise_forward_plane_affine(x, weights, &g, &a, &y, sp)
                            } else {
                                pk_depthwise_forward_plane(x, weights, &g, &y, sp)
                            }
                        }
                        let want = expected(x, weights, g, affine)
                        for i in 0..<count {
                            XCTAssertEqual(y[i], want[i], accuracy: 1e-5 * max(1, abs(want[i])), "\(label): output \(i)")
                        }
                        XCTAssertEqual(y[count], 12345, "\(label): wrote past the output")
                    }
                }
            }
        }
        #endif
    }

    /// The x86 levels read planes in place at strides 1 and 2 and ask for no scratch; a plane
    /// sized there and run at the portable level, which needs one, gets its own.
    func testScratchOnlyWhereTheLevelNeedsOne() {
        var rng = Rng(state: 0x5c4a)
        var strided = shape(9, 9, kernel: (3, 3), stride: 3, padding: 1)
        var g = shape(12, 20, kernel: (3, 3), stride: 1, padding: 1)
        for level in levels {
            _ = pk_set_simd_level(level)
            XCTAssertGreaterThan(pk_depthwise_scratch_size(&strided), 0, "level \(level) stride 3")
            XCTAssertEqual(pk_depthwise_scratch_size(&g) == 0, level >= 1 && isX86, "level \(level) stride 1")
        }
        _ = pk_set_simd_level(0)
        let x = (0..<(12 * 20)).map { _ in rng.float() }, w = (0..<9).map { _ in rng.float() }
        var y = [Float](repeating: .nan, count: g.out_h * g.out_w)
        pk_depthwise_forward_plane(x, w, &g, &y, nil)
        let want = x.withUnsafeBufferPointer { expected($0.baseAddress!, w, g, nil) }
        for i in 0..<y.count { XCTAssertEqual(y[i], want[i], accuracy: 1e-5 * max(1, abs(want[i])), "output \(i)") }
    }

    private var isX86: Bool {
        #if arch(x86_64)
        return true
        #else
        return false
        #endif
    }
}
