import XCTest
@testable import ImageData

/// In-memory dataset of gradient images of varying sizes.
struct MemoryDataset: Dataset {
    let name = "memory"
    let count: Int
    let classes = ["a", "b", "c"]
    let channels = 3
    let defaultNormalization = Normalization.imageNet
    func image(at index: Int) throws -> Image {
        try checkIndex(index)
        return gradientImage(width: 20 + index % 7, height: 15 + index % 5)
    }
    func label(at index: Int) -> Int { index % 3 }
}

final class LoaderTests: XCTestCase {
    let pipeline = TransformPipeline([RandomResizedCrop(size: 12), RandomHorizontalFlip()], normalization: .imageNet)

    func epochs(workers: Int, prefetch: Int = 2, epochs: Int = 2) throws -> [[Batch]] {
        let loader = try BatchLoader(dataset: MemoryDataset(count: 23), transform: pipeline, batchSize: 5,
                                     shuffle: true, seed: 99, workers: workers, prefetch: prefetch)
        return try (0..<epochs).map { try loader.allBatches(epoch: $0) }
    }

    func testDeterministicAcrossWorkerCounts() throws {
        let reference = try epochs(workers: 0)
        XCTAssertEqual(reference[0].count, 5)
        XCTAssertEqual(reference[0].last?.count, 3)
        XCTAssertEqual(reference[0][0].shape, [5, 3, 12, 12])
        XCTAssertEqual(reference[0][0].images.count, 5 * 3 * 12 * 12)
        XCTAssertEqual(Set(reference[0].flatMap(\.indices)), Set(0..<23))
        XCTAssertEqual(reference[0][0].labels, reference[0][0].indices.map { $0 % 3 })
        XCTAssertNotEqual(reference[0].flatMap(\.indices), reference[1].flatMap(\.indices), "epochs reshuffle")
        for (w, p) in [(1, 1), (2, 2), (4, 1), (3, 8)] {
            XCTAssertEqual(try epochs(workers: w, prefetch: p), reference, "workers \(w) prefetch \(p)")
        }
    }

    func testSeedChangesAugmentationAndOrder() throws {
        let a = try BatchLoader(dataset: MemoryDataset(count: 10), transform: pipeline, batchSize: 10,
                                shuffle: false, seed: 1, workers: 2)
        let b = try BatchLoader(dataset: MemoryDataset(count: 10), transform: pipeline, batchSize: 10,
                                shuffle: false, seed: 2, workers: 2)
        let ba = try a.allBatches(epoch: 0), bb = try b.allBatches(epoch: 0)
        XCTAssertEqual(ba[0].indices, Array(0..<10))
        XCTAssertEqual(ba[0].indices, bb[0].indices)
        XCTAssertNotEqual(ba[0].images, bb[0].images)
    }

    func testIndicesDropLastAndEarlyRelease() throws {
        let loader = try BatchLoader(dataset: MemoryDataset(count: 50), indices: [4, 8, 15, 16, 23, 42, 7],
                                     transform: pipeline, batchSize: 3, shuffle: true, dropLast: true,
                                     seed: 5, workers: 2)
        XCTAssertEqual(loader.batchCount, 2)
        let batches = try loader.allBatches(epoch: 3)
        XCTAssertEqual(batches.map(\.count), [3, 3])
        XCTAssert(Set(batches.flatMap(\.indices)).isSubset(of: [4, 8, 15, 16, 23, 42, 7]))
        // Abandoning an iterator part-way stops its workers without hanging.
        for _ in 0..<20 { _ = try loader.batches(epoch: 0).next() }
        XCTAssertThrowsError(try BatchLoader(dataset: MemoryDataset(count: 5), indices: [5], transform: pipeline,
                                             batchSize: 1, shuffle: false, seed: 0))
    }

    func testErrorsNameTheFileWhateverTheWorkers() throws {
        let ds = try ImageFolder(root: fixture("badfolder"))
        for workers in [0, 3] {
            let loader = try BatchLoader(dataset: ds, transform: .imageNetEval(size: 8, resize: 8),
                                         batchSize: 4, shuffle: false, seed: 0, workers: workers)
            let it = loader.batches(epoch: 0)
            assertDataError(try it.next(), contains: ["cls_a/truncated.jpg"])
        }
    }

    func testShapeMismatchNamesTheSample() throws {
        let loader = try BatchLoader(dataset: MemoryDataset(count: 4), transform: .tensorOnly(.imageNet),
                                     batchSize: 4, shuffle: false, seed: 0, workers: 1)
        assertDataError(try loader.allBatches(epoch: 0), contains: ["1", "differs from the batch shape"])
    }

    func testIDXBatchesMatchManualTensors() throws {
        let ds = try IDXDataset(directory: fixture("idx"), split: .train)
        let loader = try BatchLoader(dataset: ds, transform: .tensorOnly(.mnist), batchSize: 4,
                                     shuffle: false, seed: 0, workers: 2)
        let batches = try loader.allBatches(epoch: 0)
        XCTAssertEqual(batches.map(\.shape), [[4, 1, 4, 5], [2, 1, 4, 5]])
        let first = try ds.image(at: 0)
        XCTAssertEqual(batches[0].images[1], (Float(first.pixels[1]) / 255 - 0.1307) / 0.3081)
        XCTAssertEqual(batches[1].labels, [5, 9])
    }
}
