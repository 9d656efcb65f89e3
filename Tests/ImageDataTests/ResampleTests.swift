import Engine
import XCTest
@testable import ImageData

/// Resizing against Pillow 9.4 / torchvision 0.14 references
/// (Scripts/make-fixtures.py). Tolerance: max abs difference ≤ 1 (of 255)
/// per sample; the implementation reproduces Pillow's fixed-point
/// arithmetic, and in practice every case matches exactly (0).
final class ResampleTests: XCTestCase {
    static let tolerance = 1

    func testMatchesPillowAndTorchvision() throws {
        let manifest = try Manifest.load()
        XCTAssertGreaterThanOrEqual(manifest.resize.count, 16)
        var worst = 0
        var exact = 0
        var rng = SeededGenerator(seed: 0)
        for c in manifest.resize {
            var src = try ImageDecoder.decode(path: fixture("resize/" + c.source))
            if c.channels == 1 { src = grey(src) }
            let out: Image
            switch c.op {
            case "resize":
                out = Resize(.exact(height: c.params[1], width: c.params[0])).apply(src, using: &rng)
            case "resized_crop":
                let p = c.params   // top, left, height, width, out h, out w
                out = Resample.resize(src, left: p[1], top: p[0], cropWidth: p[3], cropHeight: p[2],
                                      width: p[5], height: p[4])
            case "resize_center":
                let pipeline = TransformPipeline([Resize(shorterSide: c.params[0]), CenterCrop(size: c.params[1])],
                                                 normalization: nil)
                out = pipeline.applyImageSteps(src, using: &rng)
            default:
                XCTFail("unknown op \(c.op)"); continue
            }
            XCTAssertEqual(out.width, c.width, c.name)
            XCTAssertEqual(out.height, c.height, c.name)
            let expected = try readBytes(fixture("resize/" + c.name + ".raw"))
            XCTAssertEqual(out.pixels.count, expected.count, c.name)
            guard out.pixels.count == expected.count else { continue }
            let diff = zip(out.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            worst = max(worst, diff)
            if diff == 0 { exact += 1 }
            XCTAssertLessThanOrEqual(diff, Self.tolerance, "\(c.name): max abs diff \(diff)")
        }
        print("ResampleTests: \(exact)/\(manifest.resize.count) cases byte-exact, worst diff \(worst)")
    }

    func testToTensorNormalizeMatchesTorchvision() throws {
        let manifest = try Manifest.load()
        guard let n = manifest.normalized else { throw XCTSkip("reference made without torchvision") }
        let src = try ImageDecoder.decode(path: fixture("resize/" + n.source))
        var rng = SeededGenerator(seed: 0)
        let t = try TransformPipeline.tensorOnly(Normalization(mean: n.mean, std: n.std)).apply(src, using: &rng)
        let raw = try readBytes(fixture("resize/" + n.file))
        let expected = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(t.data.count, expected.count)
        let diff = zip(t.data, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(diff, 1e-6)
        // The separate ToTensor + Normalize path gives the same values.
        var t2 = ToTensor.apply(src)
        try Normalize.apply(&t2, Normalization(mean: n.mean, std: n.std))
        XCTAssertEqual(t2, t)
    }

    /// Grey fixture: PNG "L" decodes as RGB with equal channels; keep one.
    private func grey(_ rgb: Image) -> Image {
        Image(width: rgb.width, height: rgb.height, channels: 1,
              pixels: stride(from: 0, to: rgb.pixels.count, by: 3).map { rgb.pixels[$0] })
    }
}
