import Engine
import Foundation
import ImageData
import NN
import Practise
import XCTest

/// The one rule by which images of any dataset reach a network's input.
final class ModelInputTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-input-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// The first `count` bundled test images, written as grey PNGs into class folders (what
    /// `practise synthesize` writes for a grey teacher).
    func writeBundledAsPNGs(count: Int) throws -> (ImageFolder, IDXDataset) {
        let bundled = try DataSpec(kind: .bundled, root: nil).open(split: .test) as! IDXDataset
        for i in 0..<count {
            let folder = (dir as NSString).appendingPathComponent(String(bundled.label(at: i)))
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let png = try PNGEncoder.encode(try bundled.image(at: i))
            try Data(png).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(String(format: "%05d.png", i))))
        }
        return (try ImageFolder(root: dir), bundled)
    }

    func testGreyPNGsReachAGreyTeacherExactlyAsTheIDXImagesDo() throws {
        let (folder, bundled) = try writeBundledAsPNGs(count: 12)
        XCTAssertEqual(folder.channels, 3, "ImageFolder decodes as RGB: the conversion is needed")
        let input = ModelInput(channels: 1, side: 28, normalization: .fashionMNIST)
        let spec = DataSpec(kind: .imageFolder, root: dir)
        XCTAssertEqual(try ModelInput.ownShape(of: folder, spec: spec), [3, 224, 224])
        let conversion = try input.conversion(for: folder, spec: spec)
        XCTAssertEqual(conversion, InputConversion(channels: 1, height: 28, width: 28))
        XCTAssertNil(try input.conversion(for: bundled, spec: DataSpec(kind: .bundled, root: nil)), "the teacher's own data needs none")

        let converted = input.evalTransform(spec: spec, conversion: conversion)
        let own = input.evalTransform(spec: DataSpec(kind: .bundled, root: nil), conversion: nil)
        var g = SeededGenerator(seed: 0)
        for i in 0..<folder.count {
            let idx = Int(folder.files[i].split(separator: "/").last!.prefix(5))!
            let a = try converted.apply(try folder.image(at: i), using: &g)
            let b = try own.apply(try bundled.image(at: idx), using: &g)
            XCTAssertEqual(a.shape, [1, 28, 28])
            XCTAssertEqual(a.data, b.data, "image \(idx): grey → RGB PNG → grey is exact, no resize at the teacher's size")
        }
    }

    func testConvertedImagesHaveTheInputsShapeWhateverTheirSize() throws {
        for (w, h) in [(40, 30), (17, 50)] {
            let folder = (dir as NSString).appendingPathComponent("c\(w)")
            try FileManager.default.createDirectory(atPath: folder + "/a", withIntermediateDirectories: true)
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for i in px.indices { px[i] = UInt8(i % 251) }
            try Data(try PNGEncoder.encode(Image(width: w, height: h, channels: 3, pixels: px))).write(to: URL(fileURLWithPath: folder + "/a/x.png"))
            let data = try ImageFolder(root: folder)
            let spec = DataSpec(kind: .imageFolder, root: folder)
            for (channels, side) in [(1, 28), (3, 32), (1, 224)] {
                let input = ModelInput(channels: channels, side: side, normalization: .identity)
                let conversion = try input.conversion(for: data, spec: spec)
                var g = SeededGenerator(seed: 1)
                XCTAssertEqual(try input.evalTransform(spec: spec, conversion: conversion).apply(try data.image(at: 0), using: &g).shape, [channels, side, side])
                XCTAssertEqual(try input.trainTransform(spec: spec, conversion: conversion).apply(try data.image(at: 0), using: &g).shape, [channels, side, side])
            }
            // A 224-pixel RGB network takes photographs with the ImageFolder's own transforms.
            XCTAssertNil(try ModelInput(channels: 3, side: 224, normalization: .imageNet).conversion(for: data, spec: spec))
        }
    }

    func testSideComesFromTheOptionThenTheMetadataThenTheDataThenTheArchitecture() throws {
        let (folder, bundled) = try writeBundledAsPNGs(count: 2)
        let folderSpec = DataSpec(kind: .imageFolder, root: dir), bundledSpec = DataSpec(kind: .bundled, root: nil)
        func weights(_ meta: [String: String]) throws -> LoadedWeights { try LoadedWeights(path: "w.safetensors", tensors: [:], metadata: meta, droppedBlocks: []) }
        let recorded = try weights([MetadataKey.imageSize: "32"])
        XCTAssertEqual(try ModelInput.side(explicit: 40, weights: recorded, data: bundled, spec: bundledSpec, architecture: .resnet20), 40)
        XCTAssertEqual(try ModelInput.side(explicit: nil, weights: recorded, data: bundled, spec: bundledSpec, architecture: .resnet20), 32)
        XCTAssertEqual(try ModelInput.side(explicit: nil, weights: try weights([:]), data: bundled, spec: bundledSpec, architecture: .resnet20), 28)
        XCTAssertEqual(try ModelInput.side(explicit: nil, weights: nil, data: folder, spec: folderSpec, architecture: .resnet20), 28)
        XCTAssertEqual(try ModelInput.side(explicit: nil, weights: nil, data: folder, spec: folderSpec, architecture: .resnet18), 224)
        XCTAssertThrowsError(try ModelInput.side(explicit: nil, weights: weights([MetadataKey.imageSize: "big"]), data: folder,
                                                 spec: folderSpec, architecture: .resnet20)) { error in
            XCTAssert("\(error)".contains("metadata practise.image_size must be an integer in 8...1024; found 'big'"), "\(error)")
        }
    }
}
