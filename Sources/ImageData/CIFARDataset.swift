import Foundation

/// CIFAR-10 / CIFAR-100 in their binary versions.
///
/// CIFAR-10: `data_batch_1.bin` … `data_batch_5.bin` (train) and
/// `test_batch.bin` (test), records of 1 label byte + 3072 pixel bytes.
/// CIFAR-100: `train.bin` / `test.bin`, records of a coarse and a fine label
/// byte + 3072 pixel bytes; the fine label (100 classes) is used.
/// Pixels are stored planar (1024 R, 1024 G, 1024 B, rows top-down) and are
/// returned as 32×32 RGB HWC. The folder may also be the parent of the
/// archive's `cifar-10-batches-bin` / `cifar-100-binary` directory.
/// Class names come from `batches.meta.txt` / `fine_label_names.txt` when
/// present, else the standard names (CIFAR-10) or "0"…"99" (CIFAR-100).
public struct CIFARDataset: Dataset {
    public enum Variant: Sendable { case cifar10, cifar100 }

    public static let cifar10Classes = [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ]
    static let recordPixels = 3072

    public let name: String
    public let count: Int
    public let classes: [String]
    public let channels = 3
    public let defaultNormalization: Normalization
    public let variant: Variant
    private let records: [UInt8]   // all records, concatenated
    private let recordSize: Int
    private let labelOffset: Int    // 0 (CIFAR-10) or 1 (fine label, CIFAR-100)

    public init(directory: String, variant: Variant, split: Split,
                normalization: Normalization = .imageNet) throws {
        guard FileIO.isDirectory(directory) else { throw DataError.fileNotFound(path: directory) }
        let sub = variant == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary"
        var dir = directory
        if FileIO.isDirectory(FileIO.join(directory, sub)) { dir = FileIO.join(directory, sub) }
        let files: [String]
        switch (variant, split) {
        case (.cifar10, .train): files = (1...5).map { "data_batch_\($0).bin" }
        case (.cifar10, .test): files = ["test_batch.bin"]
        case (.cifar100, .train): files = ["train.bin"]
        case (.cifar100, .test): files = ["test.bin"]
        }
        var all = [UInt8]()
        for file in files {
            let path = FileIO.join(dir, file)
            let bytes = try FileIO.read(path, limit: DataLimits.cifarFileBytes, what: "CIFAR batch file")
            try CIFARDataset.checkRecords(bytes, variant: variant, path: path)
            all.append(contentsOf: bytes)
        }
        let classes: [String]
        if variant == .cifar10 {
            classes = CIFARDataset.readNames(FileIO.join(dir, "batches.meta.txt"), expected: 10)
                ?? CIFARDataset.cifar10Classes
        } else {
            classes = CIFARDataset.readNames(FileIO.join(dir, "fine_label_names.txt"), expected: 100)
                ?? (0..<100).map(String.init)
        }
        try self.init(records: all, variant: variant, classes: classes, path: FileIO.join(dir, files[0]),
                      name: "\(dir) (\(split.rawValue))", normalization: normalization)
    }

    /// The dataset held by concatenated records (each file already checked by
    /// ``checkRecords(_:variant:path:)``); `path` names the data in errors.
    init(records: [UInt8], variant: Variant, classes: [String], path: String, name: String,
         normalization: Normalization) throws {
        let labelBytes = variant == .cifar10 ? 1 : 2
        recordSize = labelBytes + CIFARDataset.recordPixels
        labelOffset = labelBytes - 1
        self.variant = variant
        self.records = records
        self.classes = classes
        count = records.count / recordSize
        for i in 0..<count where Int(records[i * recordSize + labelOffset]) >= classes.count {
            throw DataError.malformed(path: path,
                reason: "record \(i) has label \(records[i * recordSize + labelOffset]) >= \(classes.count)")
        }
        defaultNormalization = normalization
        self.name = name
    }

    /// A batch file must hold a positive whole number of records.
    static func checkRecords(_ bytes: [UInt8], variant: Variant, path: String) throws {
        let recordSize = (variant == .cifar10 ? 1 : 2) + recordPixels
        guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
            throw DataError.malformed(path: path,
                reason: "size \(bytes.count) is not a positive multiple of the \(recordSize)-byte record (truncated?)")
        }
    }

    static func readNames(_ path: String, expected: Int) -> [String]? {
        guard FileIO.exists(path), let bytes = try? FileIO.read(path, limit: 1 << 20, what: "class-name file") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return names.count == expected ? names : nil
    }

    public func image(at index: Int) throws -> Image {
        try checkIndex(index)
        let base = index * recordSize + labelOffset + 1
        var hwc = [UInt8](repeating: 0, count: CIFARDataset.recordPixels)
        records.withUnsafeBufferPointer { src in
            hwc.withUnsafeMutableBufferPointer { dst in
                for p in 0..<1024 {
                    dst[3 * p] = src[base + p]
                    dst[3 * p + 1] = src[base + 1024 + p]
                    dst[3 * p + 2] = src[base + 2048 + p]
                }
            }
        }
        return Image(width: 32, height: 32, channels: 3, pixels: hwc)
    }

    public func label(at index: Int) -> Int { Int(records[index * recordSize + labelOffset]) }
}
