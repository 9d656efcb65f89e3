import XCTest
@testable import ImageData

final class SamplingTests: XCTestCase {
    /// 10 classes of 30 images: labels i % 10.
    let groups: [[Int]] = (0..<10).map { c in (0..<30).map { $0 * 10 + c } }

    func testSameSeedSameListDifferentSeedDifferentList() throws {
        let a = try FewShotSampler.sample(groups: groups, rule: .random(count: 25, balanced: false), seed: 7)
        let b = try FewShotSampler.sample(groups: groups, rule: .random(count: 25, balanced: false), seed: 7)
        let c = try FewShotSampler.sample(groups: groups, rule: .random(count: 25, balanced: false), seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(Set(a).count, 25)
        XCTAssert(a.allSatisfy { (0..<300).contains($0) })
    }

    func testBalancedAndPerClass() throws {
        let bal = try FewShotSampler.sample(groups: groups, rule: .random(count: 50, balanced: true), seed: 1)
        XCTAssertEqual(bal.count, 50)
        for c in 0..<10 { XCTAssertEqual(bal.filter { $0 % 10 == c }.count, 5) }
        let k = try FewShotSampler.sample(groups: groups, rule: .perClass(3), seed: 1)
        XCTAssertEqual(k.count, 30)
        XCTAssertEqual(k.map { $0 % 10 }, (0..<10).flatMap { [Int](repeating: $0, count: 3) })
        XCTAssertNotEqual(k, try FewShotSampler.sample(groups: groups, rule: .perClass(3), seed: 2))
        // Not divisible: falls back to the unbalanced rule.
        XCTAssertEqual(try FewShotSampler.sample(groups: groups, rule: .random(count: 13, balanced: true), seed: 1).count, 13)
        // Whole dataset can be drawn.
        XCTAssertEqual(Set(try FewShotSampler.sample(groups: groups, rule: .random(count: 300, balanced: false), seed: 1)).count, 300)
    }

    func testTooManyRequested() {
        assertDataError(try FewShotSampler.sample(groups: groups, rule: .random(count: 301, balanced: false), seed: 1),
                        contains: ["301", "300"])
        assertDataError(try FewShotSampler.sample(groups: groups, classNames: (0..<10).map { "c\($0)" },
                                                  rule: .perClass(31), seed: 1),
                        contains: ["31", "30", "c0"])
    }

    func testIndexListRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        let ds = try IDXDataset(directory: fixture("idx"), split: .train)
        let chosen = try FewShotSampler.sample(ds, rule: .random(count: 4, balanced: false), seed: 3)
        let path = dir + "/samples.txt"
        try SampleList.write(chosen, of: ds, to: path)
        XCTAssertEqual(try SampleList.read(from: path, for: ds), chosen)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), chosen.map { "\($0)\n" }.joined())
        try "# comment\n1\n\n6\n".write(toFile: path, atomically: true, encoding: .utf8)
        assertDataError(try SampleList.read(from: path, for: ds), contains: [path + ":4", "'6'", "its samples are indices 0...\(ds.count - 1)"])
        try "1\n1\n".write(toFile: path, atomically: true, encoding: .utf8)
        assertDataError(try SampleList.read(from: path, for: ds), contains: [path + ":2", "twice"])
        assertDataError(try SampleList.read(from: dir + "/none.txt", for: ds), contains: ["none.txt"])
    }

    func testPathListRoundTripAndReferenceForm() throws {
        let dir = try temporaryDirectory(self)
        let ds = try ImageFolder(root: fixture("folder/train"))
        let chosen = try FewShotSampler.sample(ds, rule: .perClass(2), seed: 5)
        let path = dir + "/samples.txt"
        try SampleList.write(chosen, of: ds, to: path)
        XCTAssertEqual(try SampleList.read(from: path, for: ds), chosen)
        try "./train/cat/b.PNG, 0\n./train/dog/y.png, 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try SampleList.read(from: path, for: ds), [1, 5])
        try "./train/cat/b.PNG, 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        assertDataError(try SampleList.read(from: path, for: ds), contains: [path + ":1", "label 1", "has label 0"])
        try "./train/cat/nope.jpg, 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        assertDataError(try SampleList.read(from: path, for: ds), contains: [path + ":1", "train/cat/nope.jpg", "does not exist", "its samples are paths relative to"])
    }
}
