import XCTest
@testable import Checkpoint

/// Well-formed PyTorch zip checkpoints made by torch.save.
final class TorchZipTests: XCTestCase {
    func testFloat32StateDictKeepsOrderShapesAndValues() throws {
        let sd = try Checkpoint.load(Fixtures.url("fp32.pth"))
        XCTAssertEqual(sd.order, ["conv.weight", "conv.bias", "fc.weight"])
        let weight = try XCTUnwrap(sd["conv.weight"])
        XCTAssertEqual(weight.shape, [4, 3, 3, 3])
        XCTAssertEqual(weight.sourceDType, .f32)
        XCTAssertEqual(weight.values, (0..<108).map { Float($0) / 8 - 6 })
        XCTAssertEqual(sd["conv.bias"]?.values, [0.5, -1.0, 2.0, -3.25])
        XCTAssertEqual(sd["fc.weight"]?.shape, [2, 4])
        XCTAssertEqual(sd["fc.weight"]?.values, [1, 2, 3, 4, -1, -2, -3, -4])
        XCTAssertEqual(sd.metadata, [:])
        XCTAssertNil(sd.rmBlocks)
    }

    func testHalfBFloatDoubleAndIntegerBuffersBecomeFloat() throws {
        let sd = try Checkpoint.load(Fixtures.url("dtypes.pth"))
        XCTAssertEqual(sd["half"], TensorRecord(shape: [4], sourceDType: .f16, values: [1, -2.5, 0.000061035156, 65504]))
        XCTAssertEqual(sd["bfloat"], TensorRecord(shape: [2, 2], sourceDType: .bf16, values: [1, -0.5, 3, 256]))
        XCTAssertEqual(sd["double"], TensorRecord(shape: [3], sourceDType: .f64, values: [0.125, Float(-1e-3 as Double), 3]))
        XCTAssertEqual(sd["bn.num_batches_tracked"], TensorRecord(shape: [], sourceDType: .i64, values: [123_456]))
        XCTAssertEqual(sd["int32"], TensorRecord(shape: [3], sourceDType: .i32, values: [-7, 0, 7]))
        XCTAssertEqual(sd["uint8"], TensorRecord(shape: [3], sourceDType: .u8, values: [0, 200, 255]))
        XCTAssertEqual(sd["mask"], TensorRecord(shape: [3], sourceDType: .bool, values: [1, 0, 1]))
    }

    func testStorageOffsetsStridesAndSharedStorages() throws {
        let sd = try Checkpoint.load(Fixtures.url("strided.pth"))
        // arange(12).reshape(3, 4).t(): stride (1, 4) in the file.
        XCTAssertEqual(sd["transposed"], TensorRecord(shape: [4, 3], values: [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]))
        XCTAssertEqual(sd["base"]?.values, (0..<20).map(Float.init))
        XCTAssertEqual(sd["window"], TensorRecord(shape: [2, 3], values: [5, 6, 7, 8, 9, 10]))
        XCTAssertEqual(sd["every_other"], TensorRecord(shape: [10], values: stride(from: 1, to: 20, by: 2).map(Float.init)))
        XCTAssertEqual(sd["expanded"], TensorRecord(shape: [2, 3], values: [1, 2, 3, 1, 2, 3]))
        XCTAssertEqual(sd["empty"], TensorRecord(shape: [0, 3], values: []))
        XCTAssertEqual(sd["scalar"], TensorRecord(shape: [], values: [42]))
    }

    func testWrappedCheckpointWithModulePrefixMetadataAndRmBlocks() throws {
        let sd = try Checkpoint.load(Fixtures.url("wrapped.pth"))
        XCTAssertEqual(sd.order, ["conv.weight", "bn.running_mean", "bn.num_batches_tracked"])
        XCTAssertEqual(sd["conv.weight"], TensorRecord(shape: [2, 1, 1, 1], values: [1, 1]))
        XCTAssertEqual(sd["bn.running_mean"]?.values, [0.25, 0.75])
        XCTAssertEqual(sd["bn.num_batches_tracked"], TensorRecord(shape: [], sourceDType: .i64, values: [9]))
        XCTAssertEqual(sd.rmBlocks, ["layer1.1", "layer3.0"])
        XCTAssertEqual(sd.metadata, ["epoch": "7", "arch": "resnet18", "best_acc1": "0.5"])
    }

    func testStateDictUnderModelKey() throws {
        let sd = try Checkpoint.load(Fixtures.url("model-key.pth"))
        XCTAssertEqual(sd.order, ["w"])
        XCTAssertEqual(sd["w"]?.values, [1, 2])
        XCTAssertEqual(sd.metadata, ["step": "3"])
    }

    func testParametersAreRebuiltAsTensors() throws {
        let sd = try Checkpoint.load(Fixtures.url("parameter.pth"))
        XCTAssertEqual(sd["p"], TensorRecord(shape: [2], values: [3, 4]))
    }

    func testVariantsOfTheSameCheckpointAgree() throws {
        let reference = try Checkpoint.load(Fixtures.url("fp32.pth"))
        // Top folder renamed to "my model (v2)", deflated entries, pickle protocol 4.
        for name in ["custom-folder.pth", "deflated.pth", "protocol4.pth"] {
            XCTAssertEqual(try Checkpoint.load(Fixtures.url(name)), reference, name)
        }
    }

    func testLoadFromMemoryMatchesLoadFromFile() throws {
        let data = try Fixtures.data("strided.pth")
        XCTAssertEqual(
            try Checkpoint.load(data: data, fileName: "strided.pth"),
            try Checkpoint.load(Fixtures.url("strided.pth"))
        )
        XCTAssertEqual(Checkpoint.detectFormat(data), .pytorchZip)
    }

    func testHalfConversionMatchesFloat16ForEveryBitPattern() throws {
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = DTypeConversion.halfToFloat(bits)
            if expected.isNaN {
                XCTAssertTrue(actual.isNaN)
            } else {
                XCTAssertEqual(actual.bitPattern, expected.bitPattern, "half bits \(bits)")
            }
        }
        #endif
    }
}
