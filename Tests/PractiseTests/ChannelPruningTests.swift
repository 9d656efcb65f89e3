import Engine
import Foundation
import NN
import Practise
import TestSupport
import XCTest

final class ChannelPruningTests: XCTestCase {
    func testL1KeepsTheHighestNormFiltersInIndexOrder() {
        // Filter L1 norms: 3, 11, 7, 7, 1 (filter 2 beats filter 3 on the tie by index).
        let w = Tensor([1, -2, 0, 0, 5, -5, 0.5, 0.5, 0, 0, -3, 4, 3, -4, 0, 0, 1, 0, 0, 0], shape: [5, 4, 1, 1])
        XCTAssertEqual(ChannelPruning.keptFilters(weight: w, keep: 2), [1, 2])
        XCTAssertEqual(ChannelPruning.keptFilters(weight: w, keep: 3), [1, 2, 3])
        XCTAssertEqual(ChannelPruning.keptFilters(weight: w, keep: 4), [0, 1, 2, 3])
        XCTAssertEqual(ChannelPruning.keptFilters(weight: w, keep: 5), [0, 1, 2, 3, 4])
        XCTAssertEqual(ChannelPruning.keptCount(channels: 16, ratio: 0.4), 10)
        XCTAssertEqual(ChannelPruning.keptCount(channels: 16, ratio: 0.99), 1)
    }

    /// The slim network's tensors are exactly the teacher's kept filters, BN entries and next-conv input channels.
    func testSlimNetworkHoldsTheKeptSlicesAndShrinks() throws {
        let teacher = Architecture.resnet20.make(numClasses: 4, seed: 5)
        let spec = ModelSpec(architecture: .resnet20, numClasses: 4)
        let kept = ChannelPruning.keptChannels(teacher, ratio: 0.5)
        XCTAssertEqual(kept.count, 9)
        let (student, s) = ChannelPruning.slim(teacher, spec: spec, kept: kept)
        XCTAssertEqual(s.innerWidths["layer2.1.conv1"], 16)
        let k = kept["layer2.1.conv1"]!
        let tConv1 = teacher.module(at: "layer2.1.conv1") as! Conv2d, sConv1 = student.module(at: "layer2.1.conv1") as! Conv2d
        XCTAssertEqual(sConv1.weight.shape, [16, 32, 3, 3])
        let per = 32 * 9
        for (row, f) in k.enumerated() {
            XCTAssertEqual(Array(sConv1.weight.value.array[row * per..<(row + 1) * per]), Array(tConv1.weight.value.array[f * per..<(f + 1) * per]))
        }
        let tBN = teacher.module(at: "layer2.1.bn1") as! BatchNorm2d, sBN = student.module(at: "layer2.1.bn1") as! BatchNorm2d
        XCTAssertEqual(sBN.runningVar.array, k.map { tBN.runningVar.array[$0] })
        XCTAssertEqual(sBN.weight.value.array, k.map { tBN.weight.value.array[$0] })
        let tConv2 = teacher.module(at: "layer2.1.conv2") as! Conv2d, sConv2 = student.module(at: "layer2.1.conv2") as! Conv2d
        XCTAssertEqual(sConv2.weight.shape, [32, 16, 3, 3])
        XCTAssertEqual(Array(sConv2.weight.value.array[9..<18]), Array(tConv2.weight.value.array[k[1] * 9..<k[1] * 9 + 9]))
        XCTAssertLessThan(student.parameterCount, teacher.parameterCount)
        // The residual stream keeps its width.
        XCTAssertEqual((student.module(at: "layer2.1.conv2") as! Conv2d).outChannels, 32)
    }

    /// Slim network = teacher with the pruned channels masked (filters and BN zeroed), on every output.
    func testSlimEqualsMaskedTeacherAndRatioZeroEqualsTeacher() throws {
        for arch in [Architecture.resnet20] {
            let teacher = arch.make(numClasses: 4, seed: 7)
            randomizeBatchNorms(teacher)
            teacher.eval()
            let x = randomTensor([2, 1, 12, 12], seed: 9)
            let kept = ChannelPruning.keptChannels(teacher, ratio: 0.4)
            let (slim, _) = ChannelPruning.slim(teacher, spec: ModelSpec(architecture: arch, numClasses: 4), kept: kept)
            slim.eval()
            let masked = ModelSpec(architecture: arch, numClasses: 4).build()
            teacher.copyWeights(into: masked)
            for site in masked.innerChannelSites {
                let keep = Set(kept[site.conv]!)
                let bn = masked.module(at: site.outputFollowers[0]) as! BatchNorm2d
                for c in 0..<site.channels where !keep.contains(c) {
                    bn.weight.value.pointer[c] = 0; bn.bias.value.pointer[c] = 0
                }
            }
            masked.eval()
            assertClose(slim(x), masked(x), rtol: 1e-4, atol: 1e-5)
            let (same, spec0) = ChannelPruning.slim(teacher, spec: ModelSpec(architecture: arch, numClasses: 4),
                                                    kept: ChannelPruning.keptChannels(teacher, ratio: 0))
            same.eval()
            XCTAssertEqual(same(x).array, teacher(x).array, "ratio 0 is the teacher")
            XCTAssertEqual(Set(spec0.innerWidths.values), [16, 32, 64])
        }
    }

    /// A ratio that leaves one channel per site (0.95 of 16, 32 and 64) builds a 1-wide slim
    /// network holding the teacher's strongest filter (a 1-wide BatchNorm was once taken for a
    /// scalar and copied whole, which trapped).
    func testRatioKeepingOneChannelPerSiteSlices() throws {
        let teacher = Architecture.resnet20.make(numClasses: 4, seed: 5)
        randomizeBatchNorms(teacher)
        let kept = ChannelPruning.keptChannels(teacher, ratio: 0.99)
        XCTAssertEqual(Set(kept.values.map(\.count)), [1])
        let (student, s) = ChannelPruning.slim(teacher, spec: ModelSpec(architecture: .resnet20, numClasses: 4), kept: kept)
        XCTAssertEqual(Set(s.innerWidths.values), [1])
        let f = kept["layer3.2.conv1"]![0]
        let tBN = teacher.module(at: "layer3.2.bn1") as! BatchNorm2d, sBN = student.module(at: "layer3.2.bn1") as! BatchNorm2d
        XCTAssertEqual(sBN.runningMean.array, [tBN.runningMean.array[f]])
        XCTAssertEqual(sBN.weight.value.array, [tBN.weight.value.array[f]])
        student.eval()
        let y = student(randomTensor([2, 1, 12, 12], seed: 3))
        XCTAssertEqual(y.shape, [2, 4])
        XCTAssertTrue(y.array.allSatisfy(\.isFinite))
    }

    func testBottleneckAndMobileNetSitesPrune() throws {
        for arch in [Architecture.resnet50, .mobilenet_v2] {
            let teacher = arch.make(numClasses: 3, seed: 1)
            teacher.eval()
            let sites = teacher.innerChannelSites
            XCTAssertEqual(sites.count, arch == .resnet50 ? 32 : 16)
            let (slim, spec) = ChannelPruning.slim(teacher, spec: ModelSpec(architecture: arch, numClasses: 3),
                                                   kept: ChannelPruning.keptChannels(teacher, ratio: 0.5))
            slim.eval()
            XCTAssertEqual(slim(randomTensor([1, 3, 32, 32], seed: 2)).shape, [1, 3])
            XCTAssertEqual(try spec.buildChecked().stateDict().map(\.tensor.shape), slim.stateDict().map(\.tensor.shape))
        }
    }

    func testBadInnerWidthsAreNamed() {
        XCTAssertThrowsError(try ModelSpec(architecture: .resnet20, innerWidths: ["layer9.0.conv1": 3]).buildChecked()) {
            XCTAssert("\($0)".contains("layer9.0.conv1"), "\($0)")
        }
        XCTAssertThrowsError(try ModelSpec(architecture: .resnet20, innerWidths: ["layer1.0.conv1": 17]).buildChecked()) {
            XCTAssert("\($0)".contains("1...16"), "\($0)")
        }
    }

    func testRatioSearchFindsTheSmallestRatioReachingTheTarget() throws {
        // A step-wise, monotone "latency reduction" as quantised widths give.
        let measure: (Double) -> Double = { r in (r * 16).rounded(.down) / 16 * 0.8 }
        let found = try ChannelPruning.searchRatio(target: 0.3, tolerance: 0.005, measure: measure)
        XCTAssertGreaterThanOrEqual(found.reduction, 0.3)
        XCTAssertLessThan(measure(found.ratio - 0.01), 0.3)
        XCTAssertEqual(found.trials.first?.ratio, 0.9)
        XCTAssertThrowsError(try ChannelPruning.searchRatio(target: 0.95, measure: measure))
    }
}

/// Non-trivial BatchNorm statistics, so a test does not pass by accident of identity BNs.
func randomizeBatchNorms(_ model: Module) {
    var g = SeededGenerator(seed: 42)
    for (_, m) in model.namedModules() {
        guard let bn = m as? BatchNorm2d else { continue }
        for i in 0..<bn.channels {
            bn.weight.value.pointer[i] = 0.5 + Float(g.next() % 1000) / 1000
            bn.bias.value.pointer[i] = Float(g.next() % 1000) / 2000 - 0.25
            bn.runningMean.pointer[i] = Float(g.next() % 1000) / 5000 - 0.1
            bn.runningVar.pointer[i] = 0.5 + Float(g.next() % 1000) / 1000
        }
        for t in [bn.weight.value, bn.bias.value, bn.runningMean, bn.runningVar] { t.storage.markModified() }
    }
}
