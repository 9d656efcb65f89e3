import XCTest
@testable import ImageData

final class IDXTests: XCTestCase {
    func testReadsGzipAndRawPairs() throws {
        let train = try IDXDataset(directory: fixture("idx"), split: .train)
        XCTAssertEqual(train.count, 6)
        XCTAssertEqual(train.channels, 1)
        XCTAssertEqual([train.rows, train.columns], [4, 5])
        XCTAssertEqual(train.labels, [3, 1, 4, 1, 5, 9])
        let img = try train.image(at: 1)
        XCTAssertEqual([img.width, img.height, img.channels], [5, 4, 1])
        XCTAssertEqual(img.pixels, (20..<40).map { UInt8($0 * 3 % 256) })
        let test = try IDXDataset(directory: fixture("idx"), split: .test)
        XCTAssertEqual(test.count, 3)
        XCTAssertEqual(try test.image(at: 0).pixels[0], 255)
        XCTAssertEqual(test.label(at: 1), 7)
        XCTAssertThrowsError(try test.image(at: 3))
    }

    func testStrictHeaderValidation() throws {
        let dir = try temporaryDirectory(self)
        func idx(_ magic: [UInt8], dims: [Int], payload: Int) -> [UInt8] {
            var b = magic
            for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
            return b + [UInt8](repeating: 1, count: payload)
        }
        let labels = dir + "/labels"
        try writeBytes(idx([0, 0, 8, 1], dims: [2], payload: 2), to: labels)
        let cases: [([UInt8], String)] = [
            (idx([0, 0, 8, 3], dims: [2, 3, 3], payload: 17), "truncated"),
            (idx([0, 0, 8, 3], dims: [2, 3, 3], payload: 19), "trailing"),
            (idx([0, 1, 8, 3], dims: [2, 3, 3], payload: 18), "magic"),
            (idx([0, 0, 9, 3], dims: [2, 3, 3], payload: 18), "unsigned byte"),
            (idx([0, 0, 8, 2], dims: [2, 9], payload: 18), "dimensions"),
            ([0, 0], "too short"),
        ]
        for (i, (bytes, fragment)) in cases.enumerated() {
            let path = dir + "/images\(i)"
            try writeBytes(bytes, to: path)
            assertDataError(try IDXDataset(imagesPath: path, labelsPath: labels), contains: [path, fragment])
        }
        let good = dir + "/good"
        try writeBytes(idx([0, 0, 8, 3], dims: [3, 3, 3], payload: 27), to: good)
        assertDataError(try IDXDataset(imagesPath: good, labelsPath: labels), contains: [labels, "2 labels for 3 images"])
        let badLabel = dir + "/badlabel"
        try writeBytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 10], to: badLabel)
        assertDataError(try IDXDataset(imagesPath: good, labelsPath: badLabel), contains: [badLabel, "label 10"])
        let gz = dir + "/broken.gz"
        try writeBytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3], to: gz)
        assertDataError(try IDXDataset(imagesPath: gz, labelsPath: labels), contains: [gz, "gzip"])
        assertDataError(try IDXDataset(directory: dir + "/nowhere", split: .train), contains: ["nowhere", "no such file"])
        assertDataError(try IDXDataset(directory: dir, split: .train), contains: ["train-images-idx3-ubyte"])
    }

    /// The real Debian Fashion-MNIST files, when installed.
    func testDebianFashionMNIST() throws {
        guard FileManager.default.fileExists(atPath: DataSpec.debianFashionMNIST) else {
            throw XCTSkip("dataset-fashion-mnist not installed")
        }
        let test = try DataSpec.parse("fashion-mnist").open(split: .test)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(test.classes.count, 10)
        XCTAssertEqual(test.label(at: 0), 9)   // first test image: ankle boot
        XCTAssertEqual(test.defaultNormalization, .fashionMNIST)
        let img = try test.image(at: 0)
        XCTAssertEqual([img.width, img.height, img.channels], [28, 28, 1])
        let train = try DataSpec.parse("fashion-mnist").open(split: .train)
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(train.indicesByClass().map(\.count), [Int](repeating: 6000, count: 10))
    }
}

final class CIFARTests: XCTestCase {
    /// Writes `n` records; record i has label i % 10 (fine label i % 100 for
    /// CIFAR-100, coarse 99) and R = i, G = 100 + i, B = 200 + (pixel % 50).
    func makeRecords(_ n: Int, cifar100: Bool, start: Int = 0) -> [UInt8] {
        var b = [UInt8]()
        for i in start..<(start + n) {
            if cifar100 { b += [99, UInt8(i % 100)] } else { b.append(UInt8(i % 10)) }
            b += [UInt8](repeating: UInt8(i % 256), count: 1024)
            b += [UInt8](repeating: UInt8((100 + i) % 256), count: 1024)
            b += (0..<1024).map { UInt8(200 + $0 % 50) }
        }
        return b
    }

    func testCIFAR10() throws {
        let dir = try temporaryDirectory(self)
        let bin = dir + "/cifar-10-batches-bin"
        for k in 1...5 { try writeBytes(makeRecords(3, cifar100: false, start: (k - 1) * 3), to: bin + "/data_batch_\(k).bin") }
        try writeBytes(makeRecords(2, cifar100: false), to: bin + "/test_batch.bin")
        let train = try DataSpec.parse("cifar10:" + dir).open(split: .train)
        XCTAssertEqual(train.count, 15)
        XCTAssertEqual(train.classes[0], "airplane")
        XCTAssertEqual(train.label(at: 7), 7)
        let img = try train.image(at: 4)
        XCTAssertEqual([img.width, img.height, img.channels], [32, 32, 3])
        XCTAssertEqual([img[0, 0, 0], img[0, 0, 1], img[0, 0, 2]], [4, 104, 200])
        XCTAssertEqual(img[1, 0, 2], 201)      // planar → HWC
        XCTAssertEqual(img[0, 1, 2], 200 + 32 % 50)
        let test = try CIFARDataset(directory: bin, variant: .cifar10, split: .test)
        XCTAssertEqual(test.count, 2)
        // Truncated batch file.
        try writeBytes(Array(makeRecords(2, cifar100: false).dropLast(5)), to: bin + "/test_batch.bin")
        assertDataError(try CIFARDataset(directory: bin, variant: .cifar10, split: .test),
                        contains: ["test_batch.bin", "3073"])
        try FileManager.default.removeItem(atPath: bin + "/data_batch_3.bin")
        assertDataError(try CIFARDataset(directory: dir, variant: .cifar10, split: .train), contains: ["data_batch_3.bin"])
    }

    func testCIFAR100UsesFineLabel() throws {
        let dir = try temporaryDirectory(self)
        try writeBytes(makeRecords(120, cifar100: true), to: dir + "/train.bin")
        try writeBytes(makeRecords(5, cifar100: true), to: dir + "/test.bin")
        let train = try DataSpec.parse("cifar100:" + dir).open(split: .train)
        XCTAssertEqual(train.count, 120)
        XCTAssertEqual(train.classes.count, 100)
        XCTAssertEqual(train.label(at: 42), 42)
        XCTAssertEqual(train.label(at: 105), 5)
        XCTAssertEqual(try train.image(at: 3)[0, 0, 1], 103)
    }
}
