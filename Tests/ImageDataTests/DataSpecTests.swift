import XCTest
@testable import ImageData

final class DataSpecTests: XCTestCase {
    func testParse() throws {
        XCTAssertEqual(try DataSpec.parse("fashion-mnist"), DataSpec(kind: .fashionMNIST, root: "/usr/share/datasets/fashion-mnist"))
        XCTAssertEqual(try DataSpec.parse("idx:/x/y"), DataSpec(kind: .idx, root: "/x/y"))
        XCTAssertEqual(try DataSpec.parse("ImageFolder:/d:e"), DataSpec(kind: .imageFolder, root: "/d:e"))
        XCTAssertEqual(try DataSpec.parse("cifar10:/c").kind, .cifar10)
        XCTAssertEqual(try DataSpec.parse("cifar100:/c").kind, .cifar100)
        XCTAssertEqual(try DataSpec.parse("bundled"), DataSpec(kind: .bundled, root: nil))
        assertDataError(try DataSpec.parse("svhn:/x"), contains: ["svhn", "unknown kind"])
        assertDataError(try DataSpec.parse("idx"), contains: ["needs a directory"])
        assertDataError(try DataSpec.parse("idx:"), contains: ["empty directory"])
        assertDataError(try DataSpec.parse("bundled:/x"), contains: ["takes no directory"])
        assertDataError(try DataSpec.parse("idx:/no/such/dir").open(split: .train), contains: ["/no/such/dir", "no such file"])
        assertDataError(try DataSpec.parse("cifar10:/no/such").open(split: .test), contains: ["/no/such"])
    }

    func testIDXSpecOpensFixture() throws {
        let ds = try DataSpec.parse("idx:" + fixture("idx")).open(split: .test)
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.defaultNormalization, .mnist)
        let f = try DataSpec.parse("fashion-mnist:" + fixture("idx")).open(split: .train)
        XCTAssertEqual(f.classes[0], "T-shirt/top")
        XCTAssertEqual(f.defaultNormalization, .fashionMNIST)
    }

    func testBundledSubset() throws {
        let train = try DataSpec.parse("bundled").open(split: .train)
        let test = try DataSpec.parse("bundled").open(split: .test)
        XCTAssertEqual(train.count, 1000)
        XCTAssertEqual(test.count, 2000)
        XCTAssertEqual(train.indicesByClass().map(\.count), [Int](repeating: 100, count: 10))
        XCTAssertEqual(test.indicesByClass().map(\.count), [Int](repeating: 200, count: 10))
        XCTAssertEqual(train.classes, IDXDataset.fashionClasses)
        XCTAssertEqual(train.defaultNormalization, .fashionMNIST)
        let img = try train.image(at: 0)
        XCTAssertEqual([img.width, img.height, img.channels], [28, 28, 1])
        // Same pixels as the Debian source at the listed index.
        guard FileManager.default.fileExists(atPath: DataSpec.debianFashionMNIST) else { return }
        let assets = try AssetLocator.locate(containing: DataSpec.bundledSubfolder)
        let list = try String(contentsOfFile: assets + "/fashion-mnist-subset/test-indices.txt", encoding: .utf8)
        let indices = list.split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(indices.count, 2000)
        let full = try DataSpec.parse("fashion-mnist").open(split: .test)
        for k in [0, 1, 777, 1999] {
            XCTAssertEqual(try test.image(at: k), try full.image(at: indices[k]))
            XCTAssertEqual(test.label(at: k), full.label(at: indices[k]))
        }
    }

    func testAssetLocatorOrder() throws {
        let c = AssetLocator.candidates()
        XCTAssert(c.last(where: { $0.hasSuffix("/Assets") }) != nil)
        XCTAssert(c.contains(FileManager.default.currentDirectoryPath + "/Assets"))
        XCTAssertNoThrow(try AssetLocator.locate(containing: DataSpec.bundledSubfolder))
        assertDataError(try AssetLocator.locate(containing: "no-such-marker-folder"), contains: ["PRACTISE_ASSETS"])
    }
}
