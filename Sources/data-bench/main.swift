import Engine
// data-bench: decode + RandomResizedCrop(224) + flip + ToTensor/Normalize
// throughput of the batch loader on a folder of JPEGs.
//
//   /usr/bin/python3 Scripts/make-bench-images.py /tmp/bench-images
//   swift run -c release data-bench /tmp/bench-images [workers=2] [epochs=5] [batch=32]
import Foundation
import ImageData

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write("usage: data-bench IMAGE_FOLDER [workers] [epochs] [batch]\n".data(using: .utf8)!)
    exit(2)
}
let root = args[1]
let workers = args.count > 2 ? Int(args[2]) ?? 2 : 2
let epochs = args.count > 3 ? Int(args[3]) ?? 5 : 5
let batchSize = args.count > 4 ? Int(args[4]) ?? 32 : 32

do {
    let dataset = try ImageFolder(root: root)
    let loader = try BatchLoader(dataset: dataset, transform: .imageNetTrain(size: 224), batchSize: batchSize,
                                 shuffle: true, seed: 1, workers: workers, prefetch: 2)
    _ = try loader.allBatches(epoch: 0) // warm-up (page cache, allocator)
    let start = Date()
    var images = 0
    var checksum: Float = 0
    for epoch in 1...epochs {
        let it = loader.batches(epoch: epoch)
        while let batch = try it.next() {
            images += batch.count
            checksum += batch.images[batch.images.count / 2]
        }
    }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "%d images (%d files x %d epochs), %d workers, batch %d: %.2f s, %.1f images/s (checksum %.4f)",
                 images, dataset.count, epochs, workers, batchSize, seconds, Double(images) / seconds, checksum))

    // Per-stage cost on one thread, for reference.
    var decoded = [Image]()
    let t0 = Date()
    for i in 0..<dataset.count { decoded.append(try dataset.image(at: i)) }
    let tDecode = Date().timeIntervalSince(t0)
    var rng = SeededGenerator(seed: 7)
    let crop = RandomResizedCrop(size: 224), flip = RandomHorizontalFlip()
    var cropped = [Image]()
    let t1 = Date()
    for img in decoded { cropped.append(flip.apply(crop.apply(img, using: &rng), using: &rng)) }
    let tCrop = Date().timeIntervalSince(t1)
    let t2 = Date()
    for img in cropped { _ = try TransformPipeline.tensorOnly(.imageNet).apply(img, using: &rng) }
    let tNorm = Date().timeIntervalSince(t2)
    let n = Double(dataset.count)
    let t3 = Date()
    for img in decoded { _ = Resize(.exact(height: 224, width: 224)).apply(img, using: &rng) }
    let tResize = Date().timeIntervalSince(t3)
    let t5 = Date()
    for img in decoded { _ = Resize(.exact(height: img.height, width: 224)).apply(img, using: &rng) }
    let tH = Date().timeIntervalSince(t5)
    let t6 = Date()
    for img in decoded { _ = Resize(.exact(height: 224, width: img.width)).apply(img, using: &rng) }
    let tV = Date().timeIntervalSince(t6)
    print(String(format: "horizontal only %.2f, vertical only %.2f", 1000 * tH / n, 1000 * tV / n))
    let t4 = Date()
    for img in cropped { _ = HorizontalFlip().apply(img, using: &rng) }
    let tFlip = Date().timeIntervalSince(t4)
    print(String(format: "one thread, ms/image: full-image resize to 224 %.2f, flip %.2f", 1000 * tResize / n, 1000 * tFlip / n))
    print(String(format: "one thread, ms/image: decode %.2f, crop+resize+flip %.2f, tensor+normalise %.2f",
                 1000 * tDecode / n, 1000 * tCrop / n, 1000 * tNorm / n))
} catch {
    FileHandle.standardError.write("data-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
