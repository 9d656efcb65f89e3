import Engine
import ImageData
import NN
@testable import Practise
import XCTest

/// The one reader of `practise.*` metadata: typed values from good metadata, a
/// ``MetadataError`` naming the key, what was expected and what was found for bad metadata.
final class WeightsMetadataTests: XCTestCase {
    let base: [String: String] = [MetadataKey.architecture: "resnet20", MetadataKey.inChannels: "1", MetadataKey.numClasses: "10",
                                  MetadataKey.droppedBlocks: "layer1.1,layer3.2", MetadataKey.mean: "0.286", MetadataKey.std: "0.353",
                                  MetadataKey.innerWidths: #"{"layer1.0.conv1":9}"#,
                                  MetadataKey.keptChannels: #"{"layer1.0.conv1":[0,1,2,3,4,5,6,7,15]}"#]

    func error(_ edits: [String: String?], checkAgainstModel: Bool = false) -> MetadataError? {
        var raw = base
        for (k, v) in edits { raw[k] = v }
        do {
            let m = try WeightsMetadata(parsing: raw, file: "w.safetensors")
            if checkAgainstModel {
                let spec = ModelSpec(architecture: .resnet20, inChannels: 1, numClasses: 10)
                try m.check(against: try spec.makeBase(), spec: spec)
            }
            return nil
        } catch let e as MetadataError { return e } catch { XCTFail("\(error)"); return nil }
    }

    func testGoodMetadataGivesTypedValues() throws {
        let m = try WeightsMetadata(parsing: base, file: "w.safetensors")
        XCTAssertEqual(m.architecture, .resnet20)
        XCTAssertEqual(m.inChannels, 1)
        XCTAssertEqual(m.numClasses, 10)
        XCTAssertEqual(m.droppedBlocks, ["layer1.1", "layer3.2"])
        XCTAssertEqual(m.normalization, Normalization(mean: [0.286], std: [0.353]))
        XCTAssertEqual(m.innerWidths, ["layer1.0.conv1": 9])
        XCTAssertEqual(m.keptChannels["layer1.0.conv1"]?.count, 9)
        let spec = ModelSpec(architecture: .resnet20)
        XCTAssertNoThrow(try m.check(against: try spec.makeBase(), spec: spec))
        // Metadata of a file another tool wrote: no practise keys, nothing assumed.
        let empty = try WeightsMetadata(parsing: ["format": "pt"], file: "w.safetensors")
        XCTAssertNil(empty.architecture)
        XCTAssertNil(empty.normalization)
        XCTAssertEqual(empty.droppedBlocks, [])
    }

    func testEachBadValueNamesItsKeyExpectationAndValue() {
        let e = error([MetadataKey.numClasses: "-3"])
        XCTAssertEqual(e?.key, MetadataKey.numClasses)
        XCTAssertEqual(e?.found, "-3")
        XCTAssertEqual(e?.description, "w.safetensors: metadata practise.num_classes must be an integer in 1...100000; found '-3'")
        XCTAssertEqual(error([MetadataKey.inChannels: "1e9"])?.key, MetadataKey.inChannels)
        XCTAssertEqual(error([MetadataKey.architecture: "alexnet"])?.key, MetadataKey.architecture)
        XCTAssertEqual(error([MetadataKey.droppedBlocks: "layer1.1,"])?.key, MetadataKey.droppedBlocks)
        XCTAssertEqual(error([MetadataKey.std: "0"])?.key, MetadataKey.std)
        XCTAssertEqual(error([MetadataKey.std: "1e-45"])?.key, MetadataKey.std)
        XCTAssertEqual(error([MetadataKey.mean: "-inf"])?.key, MetadataKey.mean)
        XCTAssertEqual(error([MetadataKey.mean: ""])?.key, MetadataKey.mean)
        XCTAssertEqual(error([MetadataKey.std: nil])?.key, MetadataKey.std)
        XCTAssertEqual(error([MetadataKey.mean: "0.1,0.2", MetadataKey.std: "0.3"])?.key, MetadataKey.std)
        XCTAssertEqual(error([MetadataKey.innerWidths: "{"])?.key, MetadataKey.innerWidths)
        XCTAssertEqual(error([MetadataKey.keptChannels: #"{"a":["x"]}"#])?.key, MetadataKey.keptChannels)
        XCTAssertLessThanOrEqual(error([MetadataKey.numClasses: String(repeating: "9", count: 200)])?.found.count ?? 999, 80, "long values are shortened")
    }

    func testValuesThatNeedTheNetworkAreCheckedAgainstIt() {
        XCTAssertNil(error([:], checkAgainstModel: true))
        let cases: [([String: String?], String, String)] = [
            ([MetadataKey.droppedBlocks: "layer9.9"], MetadataKey.droppedBlocks, "layer9.9"),
            ([MetadataKey.droppedBlocks: "layer2.0"], MetadataKey.droppedBlocks, "layer2.0"),   // downsampling: not droppable
            ([MetadataKey.mean: "0.1,0.2,0.3", MetadataKey.std: "1,1,1"], MetadataKey.mean, "0.1,0.2,0.3"),
            ([MetadataKey.innerWidths: #"{"layer1.0.conv2":3}"#, MetadataKey.keptChannels: nil], MetadataKey.innerWidths, "layer1.0.conv2"),
            ([MetadataKey.innerWidths: #"{"layer1.0.conv1":17}"#, MetadataKey.keptChannels: nil], MetadataKey.innerWidths, "layer1.0.conv1: 17"),
            ([MetadataKey.keptChannels: #"{"layer1.0.conv1":[0,1,2,3,4,5,6,7,16]}"#], MetadataKey.keptChannels, "layer1.0.conv1: 9 indices 0,1,2,3,4,5,6,7,..."),
            ([MetadataKey.keptChannels: #"{"layer1.0.conv1":[0,0,2,3,4,5,6,7,8]}"#], MetadataKey.keptChannels, "layer1.0.conv1: 9 indices 0,0,2,3,4,5,6,7,..."),
            ([MetadataKey.keptChannels: #"{"layer1.0.conv1":[0,1]}"#], MetadataKey.keptChannels, "layer1.0.conv1: 2 indices 0,1"),
        ]
        for (edits, key, found) in cases {
            let e = error(edits, checkAgainstModel: true)
            XCTAssertEqual(e?.key, key, "\(edits)")
            XCTAssertEqual(e?.found, found, "\(edits)")
        }
    }

    func testNonFiniteTensorsAndNegativeVariancesAreRefusedNamingTheTensor() {
        let ok = ["bn.running_var": Tensor([0, 1, 2], shape: [3]), "conv.weight": Tensor([-1, 2], shape: [2])]
        XCTAssertNoThrow(try WeightsIO.checkValues(ok, file: "w"))
        var bad = ok
        bad["conv.weight"] = Tensor([.nan, 2, .infinity, 1], shape: [4])
        XCTAssertThrowsError(try WeightsIO.checkValues(bad, file: "w")) {
            XCTAssertEqual("\($0)", "w: 1 tensor holds NaN or infinity: conv.weight (2 of 4 values); such weights have no meaningful output (a diverged training?)")
        }
        bad = ok
        bad["bn.running_var"] = Tensor([0.5, -0.25, -1], shape: [3])
        XCTAssertThrowsError(try WeightsIO.checkValues(bad, file: "w")) {
            XCTAssert("\($0)".hasPrefix("w: BatchNorm variance below zero in bn.running_var (2 of 3 entries, e.g. -0.25)"), "\($0)")
        }
    }
}
