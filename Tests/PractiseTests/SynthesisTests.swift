import Engine
import Foundation
import ImageData
import NN
import Practise
import TestSupport
import XCTest

final class SynthesisTests: XCTestCase {
    func teacher() -> ClassifierModel {
        let t = Architecture.resnet20.make(numClasses: 4, seed: 3)
        // Running statistics of a network that saw data: a few training-mode passes on random images.
        t.train()
        Autograd.noGrad { for i in 0..<3 { _ = t(randomTensor([8, 1, 8, 8], seed: UInt64(40 + i), scale: 0.8)) } }
        t.eval()
        return t
    }

    func settings(iterations: Int) -> SynthesisSettings {
        var s = SynthesisSettings()
        s.iterations = iterations
        s.batchSize = 6
        s.warmup = 2
        s.seed = 9
        return s
    }

    func testPriorsGradientsMatchFiniteDifferences() {
        let x = randomTensor([2, 2, 5, 6], seed: 1)
        for (tv, l2) in [(Float(1), Float(0)), (0, 1), (0.3, 2)] {
            gradCheck([x], eps: 1e-2, rtol: 2e-2, atol: 1e-3, samples: 60) { t in
                let v = t[0]
                let g = Tensor(zeros: v.shape)
                let (a, b) = ImagePriors.evaluate(v, tvWeight: tv, l2Weight: l2, addingGradientTo: g)
                return Autograd.record(Tensor(scalar: Float(Double(tv) * a + Double(l2) * b)), inputs: [v]) { gy, _ in
                    Vector.scale(g.pointer, gy.item, count: g.count)
                    return [g]
                }
            }
        }
    }

    func testJitterAdjointIsItsTranspose() {
        let x = randomTensor([2, 1, 5, 7], seed: 2), y = randomTensor([2, 1, 5, 7], seed: 3)
        for j in [Jitter(dy: 2, dx: -3, flip: true), Jitter(dy: -1, dx: 8, flip: false), Jitter(dy: 0, dx: 0, flip: true)] {
            var a: Double = 0, b: Double = 0
            let jx = j.apply(x), jty = j.adjoint(y)
            for i in 0..<x.count { a += Double(jx.pointer[i] * y.pointer[i]); b += Double(x.pointer[i] * jty.pointer[i]) }
            XCTAssertEqual(a, b, accuracy: 1e-4)
            assertClose(j.adjoint(j.apply(x)), x)
        }
        // torch.roll(x, shifts=(1, 1), dims=(2, 3)) of [[0, 1], [2, 3]] is [[3, 2], [1, 0]]; flipped: [[2, 3], [0, 1]]
        let small = Tensor([0, 1, 2, 3], shape: [1, 1, 2, 2])
        XCTAssertEqual(Jitter(dy: 1, dx: 1, flip: false).apply(small).array, [3, 2, 1, 0])
        XCTAssertEqual(Jitter(dy: 1, dx: 1, flip: true).apply(small).array, [2, 3, 0, 1])
    }

    /// The loss the synthesis reports is the sum of its terms, and the teacher gets no gradient.
    func testLossIsTheSumOfItsTermsAndTheTeacherStaysFrozen() throws {
        let t = teacher()
        var s = settings(iterations: 1)
        s.tvWeight = 0; s.l2Weight = 0
        let di = try DeepInversion(teacher: t, imageShape: [1, 8, 8], numClasses: 4, mean: [0], std: [1], settings: s)
        t.setRequiresGrad(false)
        defer { t.setRequiresGrad(true) }
        let x = randomTensor([3, 1, 8, 8], seed: 21)
        let withLabels = di.lossAndGradient(x, labels: [0, 1, 2])
        let bnOnly = di.lossAndGradient(x, labels: nil)
        let ce = Autograd.noGrad { crossEntropy(t(x), targets: [0, 1, 2]).item }
        XCTAssertEqual(withLabels.loss - bnOnly.loss, Double(ce), accuracy: 1e-4)
        XCTAssertEqual(withLabels.bn, bnOnly.bn)
        var expected: Double = 0
        var first = true
        for bn in t.namedModules().compactMap({ $0.module as? BatchNorm2d }) {
            bn.inputObserver = { input in
                let v = Double(batchStatisticsLoss(input, targetMean: bn.runningMean, targetVariance: bn.runningVar).item)
                expected += first ? 10 * v * 0.05 : v * 0.05
                first = false
            }
        }
        _ = Autograd.noGrad { t(x) }
        for bn in t.namedModules().compactMap({ $0.module as? BatchNorm2d }) { bn.inputObserver = nil }
        XCTAssertEqual(bnOnly.loss, expected, accuracy: 1e-3 * expected)
        XCTAssert(t.namedParameters().allSatisfy { $0.parameter.grad == nil }, "the frozen teacher gets no gradient")
    }

    func testSynthesisReducesTheBNStatisticsLossAndIsSeeded() throws {
        let t = teacher()
        let before = t.stateDict().map { $0.tensor.copy() }
        for variant in [SynthesisSettings(), .zeroQ] {
            var s = variant
            s.iterations = 60; s.batchSize = 6; s.seed = 9
            s.warmup = min(s.warmup, 6)
            let di = try DeepInversion(teacher: t, imageShape: [1, 8, 8], numClasses: 4, mean: [0.5], std: [0.25], settings: s)
            let a = try di.synthesize(batch: 0, first: 0, count: 6)
            XCTAssertLessThan(a.bnLoss, 0.9 * a.initialBNLoss, "\(s.variant): BN loss \(a.initialBNLoss) -> \(a.bnLoss)")
            XCTAssertEqual(a.labels, s.usesLabels ? [0, 1, 2, 3, 0, 1] : nil)
            XCTAssert(a.images.array.allSatisfy { $0 >= -2 - 1e-6 && $0 <= 2 + 1e-6 }, "clipped to the normalised [0, 1] range")
            let b = try di.synthesize(batch: 0, first: 0, count: 6)
            XCTAssertEqual(a.images.array, b.images.array, "same seed and batch, same images")
        }
        for ((k, v), b) in zip(t.stateDict(), before) { XCTAssertEqual(v.array, b.array, "teacher \(k) unchanged") }
        XCTAssert(t.namedParameters().allSatisfy { $0.parameter.requiresGrad }, "the teacher is unfrozen afterwards")
    }

    /// A zero BN weight (or first-BN multiplier) leaves the reported batch-norm term finite (it
    /// was once divided by the weight: 0/0); a weight so large that the loss overflows Float stops
    /// the synthesis with an error naming the options, and no batch of such images is written.
    func testZeroWeightsReportAFiniteBNTermAndOverflowIsRefused() throws {
        let t = teacher()
        for (variant, weight, multiplier) in [(SynthesisSettings(), Float(0), Float(10)), (.zeroQ, 1, 0)] {
            var s = variant
            s.iterations = 4; s.batchSize = 6; s.warmup = 0
            s.bnWeight = weight; s.firstBNMultiplier = multiplier
            let r = try DeepInversion(teacher: t, imageShape: [1, 8, 8], numClasses: 4, mean: [0.5], std: [0.25], settings: s)
                .synthesize(batch: 0, first: 0, count: 6)
            XCTAssert(r.initialBNLoss.isFinite && r.initialBNLoss > 0 && r.bnLoss.isFinite, "\(s.variant): \(r.initialBNLoss) -> \(r.bnLoss)")
            XCTAssert(r.loss.isFinite)
        }
        var zeroQ = SynthesisSettings.zeroQ
        zeroQ.bnWeight = 0
        XCTAssertThrowsError(try zeroQ.validate()) { XCTAssert("\($0)".contains("BN weight must be > 0"), "\($0)") }

        var huge = settings(iterations: 3)
        huge.bnWeight = 1e38
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = SyntheticSetManifest(teacher: "test", count: 6, numClasses: 4, imageShape: [1, 8, 8], mean: [0.5], std: [0.25], settings: huge)
        let di = try DeepInversion(teacher: t, imageShape: [1, 8, 8], numClasses: 4, mean: [0.5], std: [0.25], settings: huge)
        XCTAssertThrowsError(try SyntheticSet.make(manifest, in: dir, synthesizer: di)) {
            XCTAssert("\($0)".contains("synthesis diverged in batch 1"), "\($0)")
        }
        let pngs = FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".png") } ?? []
        XCTAssertEqual(pngs, [], "no image of a diverged batch is written")
    }

    /// Jitter must leave room in the image.
    func testJitterMustBeSmallerThanTheImage() throws {
        var s = settings(iterations: 3)
        s.jitter = 8
        XCTAssertThrowsError(try DeepInversion(teacher: teacher(), imageShape: [1, 8, 8], numClasses: 4, mean: [0.5], std: [0.25], settings: s)) {
            XCTAssert("\($0)".contains("not smaller than the 8×8 images"), "\($0)")
        }
        s.jitter = 7
        XCTAssertNoThrow(try DeepInversion(teacher: teacher(), imageShape: [1, 8, 8], numClasses: 4, mean: [0.5], std: [0.25], settings: s))
    }

    func testSyntheticSetRoundTripsThroughTheImageFolderReaderAndResumes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = teacher()
        let s = settings(iterations: 3)
        let manifest = SyntheticSetManifest(teacher: "test", count: 9, numClasses: 4, imageShape: [1, 8, 8], mean: [0.5], std: [0.25], settings: s)
        let di = try DeepInversion(teacher: t, imageShape: [1, 8, 8], numClasses: 4, mean: [0.5], std: [0.25], settings: s)
        let records = try SyntheticSet.make(manifest, in: dir, synthesizer: di)
        XCTAssertEqual(records.map(\.images), [6, 3])
        let folder = try ImageFolder(root: dir)
        XCTAssertEqual(folder.classes, ["0", "1", "2", "3"])
        XCTAssertEqual(folder.count, 9)
        for i in 0..<folder.count {
            let index = Int(folder.files[i].split(separator: "/")[1].prefix(5))!
            XCTAssertEqual(folder.label(at: i), DeepInversion.labels(first: index, count: 1, classes: 4)[0], folder.files[i])
        }
        // The PNG holds the kept images, denormalised: batch 0's first image.
        let kept = try di.synthesize(batch: 0, first: 0, count: 6).images
        let expected = SyntheticSet.image(kept, at: 0, mean: [0.5], std: [0.25])
        let decoded = try folder.image(at: folder.index(forSampleKey: "0/00000.png")!)
        XCTAssertEqual(decoded.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element), expected.pixels)
        let sheet = try ImageDecoder.decode(path: dir + "/" + SyntheticSet.contactSheetFile)
        XCTAssertEqual([sheet.width, sheet.height], [4 * 56 + 5 * 2, 3 * 56 + 4 * 2])

        // Rerun: finished batches are not redone; an interrupted batch is.
        try FileManager.default.removeItem(atPath: dir + "/.progress/batch-1.json")
        let again = try SyntheticSet.make(manifest, in: dir, synthesizer: di)
        XCTAssertEqual(again[0], records[0])
        XCTAssertEqual(again[1].loss, records[1].loss)
        var other = manifest
        other.settings.iterations = 4
        XCTAssertThrowsError(try SyntheticSet.make(other, in: dir, synthesizer: di)) { e in
            XCTAssert("\(e)".contains("made with other settings"), "\(e)")
        }
    }
}
