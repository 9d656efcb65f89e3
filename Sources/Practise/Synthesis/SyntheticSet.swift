import Engine
import Foundation
import SafeFiles
import ImageData

/// What a synthetic set folder records in `settings.json`; a rerun with equal values resumes.
public struct SyntheticSetManifest: Codable, Sendable, Equatable {
    public var teacher: String
    public var count: Int
    public var numClasses: Int
    /// `[C, H, W]`.
    public var imageShape: [Int]
    public var mean: [Float]
    public var std: [Float]
    public var settings: SynthesisSettings

    public init(teacher: String, count: Int, numClasses: Int, imageShape: [Int], mean: [Float], std: [Float], settings: SynthesisSettings) {
        self.teacher = teacher; self.count = count; self.numClasses = numClasses; self.imageShape = imageShape
        self.mean = mean; self.std = std; self.settings = settings
    }

    enum CodingKeys: String, CodingKey {
        case teacher, count, numClasses = "num_classes", imageShape = "image_shape", mean, std, settings
    }

    /// Batches of at most `settings.batchSize` images: `(first image, count)`.
    public var batches: [(first: Int, count: Int)] {
        stride(from: 0, to: count, by: settings.batchSize).map { ($0, min(settings.batchSize, count - $0)) }
    }
}

/// Writes a synthesised set as an ImageFolder a person can inspect and `--data imagefolder:DIR`
/// can read back:
///
/// ```
/// DIR/settings.json            the manifest (teacher, count, input shape, normalisation, settings)
/// DIR/<class>/<index>.png      one 8-bit PNG per image; <class> is the target class index,
///                              zero-padded so that sorted folder names are label order
///                              ("unlabelled" for the label-free variant)
/// DIR/contact-sheet.png        image i at column i mod K, row i / K (at most 8 rows), enlarged
/// DIR/.progress/batch-B.json   one per finished batch (loss, BN term, seconds): an interrupted
///                              run resumes after the last finished batch
/// ```
public enum SyntheticSet {
    public static let manifestFile = SyntheticSetLayout.manifestFile
    public static let contactSheetFile = SyntheticSetLayout.contactSheetFile

    /// The class folder of image `index`.
    public static func classFolder(index: Int, manifest m: SyntheticSetManifest) -> String {
        guard m.settings.usesLabels else { return "unlabelled" }
        let width = String(max(0, m.numClasses - 1)).count
        let s = String(index % m.numClasses)
        return String(repeating: "0", count: width - s.count) + s
    }

    static func joined(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }

    static func fileName(index: Int) -> String {
        let s = String(index)
        return String(repeating: "0", count: max(0, 5 - s.count)) + s + ".png"
    }

    /// Synthesises the missing batches of `manifest` into `dir` (creating it) and writes the
    /// contact sheet. Refuses a `dir` holding other files or another manifest unless `force`,
    /// which removes it first. `progress` gets a line per step; returns the per-batch records.
    @discardableResult
    public static func make(_ manifest: SyntheticSetManifest, in dir: String, synthesizer: DeepInversion, force: Bool = false,
                            progress: (String) -> Void = { _ in }) throws -> [BatchRecord] {
        let fm = FileManager.default
        let manifestPath = joined(dir, manifestFile)
        func replace(_ why: String) throws {
            guard force else { throw PractiseError("\(dir) \(why); use another folder (`synthesize --force` replaces it)") }
            do { try fm.removeItem(atPath: dir) } catch {
                throw PractiseError("cannot replace \(dir): \((error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription)")
            }
        }
        if fm.fileExists(atPath: dir) {
            if let data = fm.contents(atPath: manifestPath), let old = try? JSONDecoder().decode(SyntheticSetManifest.self, from: data) {
                if old != manifest { try replace("holds a synthetic set made with other settings (\(manifestPath))") }
            } else if !((try? fm.contentsOfDirectory(atPath: dir)) ?? []).isEmpty {
                try replace("exists and is not a synthetic set (no \(manifestFile))")
            }
        }
        let progressDir = joined(dir, ".progress")
        try fm.createDirectory(atPath: progressDir, withIntermediateDirectories: true)
        try OutputFile.writeJSON(manifest, to: manifestPath)
        var records: [BatchRecord] = []
        let batches = manifest.batches
        for (b, batch) in batches.enumerated() {
            let marker = joined(progressDir, "batch-\(b).json")
            if let data = fm.contents(atPath: marker), let r = try? JSONDecoder().decode(BatchRecord.self, from: data) {
                records.append(r)
                continue
            }
            let start = Date()
            let result = try synthesizer.synthesize(batch: b, first: batch.first, count: batch.count) { it, loss in
                progress("synthesis: batch \(b + 1)/\(batches.count), iteration \(it + 1)/\(manifest.settings.iterations), loss \(String(format: "%.4f", loss))")
            }
            for i in 0..<batch.count {
                let index = batch.first + i
                let folder = joined(dir, classFolder(index: index, manifest: manifest))
                try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let image = image(result.images, at: i, mean: manifest.mean, std: manifest.std)
                try OutputFile.write(Data(try PNGEncoder.encode(image)), to: joined(folder, fileName(index: index)))
            }
            let record = BatchRecord(batch: b, images: batch.count, loss: result.loss, initialBNLoss: result.initialBNLoss,
                                     bnLoss: result.bnLoss, seconds: Date().timeIntervalSince(start))
            try OutputFile.writeJSON(record, to: marker)
            records.append(record)
        }
        try writeContactSheet(manifest, in: dir)
        return records
    }

    /// One finished batch.
    public struct BatchRecord: Codable, Sendable, Equatable {
        public var batch: Int
        public var images: Int
        public var loss: Double
        public var initialBNLoss: Double
        public var bnLoss: Double
        public var seconds: Double
        enum CodingKeys: String, CodingKey {
            case batch, images, loss, initialBNLoss = "initial_bn_loss", bnLoss = "bn_loss", seconds
        }
    }

    /// Image `i` of a normalised batch `[B, C, H, W]` as 8-bit HWC: `x·std + mean`, clamped to
    /// [0, 1], × 255, rounded.
    public static func image(_ batch: Tensor, at i: Int, mean: [Float], std: [Float]) -> Image {
        let c = batch.shape[1], h = batch.shape[2], w = batch.shape[3], plane = h * w
        let src = batch.pointer + i * c * plane
        var px = [UInt8](repeating: 0, count: c * plane)
        for ch in 0..<c {
            let m = mean[mean.count == 1 ? 0 : ch], s = std[std.count == 1 ? 0 : ch]
            for p in 0..<plane {
                let v = min(max(src[ch * plane + p] * s + m, 0), 1)
                px[p * c + ch] = UInt8((v * 255).rounded())
            }
        }
        return Image(width: w, height: h, channels: c, pixels: px)
    }

    /// Reads the set's PNGs back into a grid: image `i` at column `i mod K`, row `i / K`
    /// (K = classes, or 10 without labels), at most 8 rows, each image enlarged to at least
    /// 56 pixels, 2-pixel white gaps.
    public static func writeContactSheet(_ m: SyntheticSetManifest, in dir: String) throws {
        let cols = m.settings.usesLabels ? m.numClasses : 10
        let rows = min(8, (m.count + cols - 1) / cols)
        let c = m.imageShape[0], h = m.imageShape[1], w = m.imageShape[2]
        let scale = max(1, (56 + h - 1) / h), gap = 2
        let tileH = h * scale, tileW = w * scale
        let sheetW = cols * tileW + (cols + 1) * gap, sheetH = rows * tileH + (rows + 1) * gap
        var px = [UInt8](repeating: 255, count: sheetW * sheetH * c)
        for i in 0..<min(m.count, rows * cols) {
            let path = joined(joined(dir, classFolder(index: i, manifest: m)), fileName(index: i))
            let rgb = try ImageDecoder.decode(path: path)
            var g = SeededGenerator(seed: 0)
            let img = ConvertChannels(channels: c).apply(rgb, using: &g)
            let x0 = gap + (i % cols) * (tileW + gap), y0 = gap + (i / cols) * (tileH + gap)
            for y in 0..<tileH {
                for x in 0..<tileW {
                    for ch in 0..<c {
                        px[((y0 + y) * sheetW + x0 + x) * c + ch] = img.pixels[((y / scale) * img.width + x / scale) * c + ch]
                    }
                }
            }
        }
        let sheet = Image(width: sheetW, height: sheetH, channels: c, pixels: px)
        try OutputFile.write(Data(try PNGEncoder.encode(sheet)), to: joined(dir, contactSheetFile))
    }
}
