import Foundation
import ZlibSupport

/// MNIST-style IDX files (raw or gzip): an `idx3-ubyte` image file
/// `[count, rows, cols]` plus an `idx1-ubyte` label file `[count]`.
///
/// Headers are validated strictly: magic `00 00 08 nd` (unsigned bytes,
/// `nd` dimensions: 3 for images, 1 for labels), the file length must equal
/// `4 + 4·nd + product(dims)` exactly, counts must agree, and every label
/// must be a valid class. Images are grey: `channels == 1`, `rows × cols`.
/// All data are held in memory (Fashion-MNIST train: 47 MB).
public struct IDXDataset: Dataset {
    /// Digit names "0"…"9" (MNIST).
    public static let digitClasses = (0..<10).map(String.init)
    /// Fashion-MNIST class names, label order.
    public static let fashionClasses = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    public let name: String
    public let count: Int
    public let classes: [String]
    public let channels = 1
    public let defaultNormalization: Normalization
    /// Image rows (height) and columns (width).
    public let rows: Int
    public let columns: Int
    /// Where the images were read from.
    public let imagesPath: String
    private let fileBytes: [UInt8]       // whole image file; pixels start at byte 16
    private let labelValues: [UInt8]

    /// Reads an image file and a label file (each raw or gzip). Headers declaring more than
    /// ``DataLimits/idxDataBytes`` are refused before a gzip file is inflated past its header.
    public init(imagesPath: String, labelsPath: String,
                classes: [String] = IDXDataset.digitClasses,
                normalization: Normalization = .mnist,
                name: String? = nil) throws {
        try self.init(imageFile: try IDXDataset.readFile(imagesPath), imagesPath: imagesPath,
                      labelFile: try IDXDataset.readFile(labelsPath), labelsPath: labelsPath,
                      classes: classes, normalization: normalization, name: name)
    }

    /// The dataset held by the bytes of an image file and a label file (each raw or gzip);
    /// the paths only name them in errors.
    init(imageFile: [UInt8], imagesPath: String, labelFile: [UInt8], labelsPath: String,
         classes: [String], normalization: Normalization, name: String?) throws {
        let (imageDims, imageBytes) = try IDXDataset.decode(imageFile, path: imagesPath, expectedDims: 3)
        let (labelDims, labelBytes) = try IDXDataset.decode(labelFile, path: labelsPath, expectedDims: 1)
        guard imageDims[0] == labelDims[0] else {
            throw DataError.malformed(path: labelsPath,
                reason: "\(labelDims[0]) labels for \(imageDims[0]) images in \(imagesPath)")
        }
        guard imageDims[1] > 0 && imageDims[2] > 0 else {
            throw DataError.malformed(path: imagesPath, reason: "zero image size \(imageDims[1])x\(imageDims[2])")
        }
        let labels = Array(labelBytes[8...])
        if let bad = labels.firstIndex(where: { Int($0) >= classes.count }) {
            throw DataError.malformed(path: labelsPath,
                reason: "label \(labels[bad]) at index \(bad) is not below the class count \(classes.count)")
        }
        self.count = imageDims[0]
        self.rows = imageDims[1]
        self.columns = imageDims[2]
        self.fileBytes = imageBytes
        self.labelValues = labels
        self.classes = classes
        self.defaultNormalization = normalization
        self.imagesPath = imagesPath
        self.name = name ?? imagesPath
    }

    /// Opens `train-images-idx3-ubyte` / `train-labels-idx1-ubyte` (split
    /// train) or the `t10k-…` pair (split test) in `directory`, each with or
    /// without `.gz` (the raw file wins when both exist); MNIST's original
    /// `train-images.idx3-ubyte` spelling is accepted too.
    public init(directory: String, split: Split,
                classes: [String] = IDXDataset.digitClasses,
                normalization: Normalization = .mnist) throws {
        guard FileIO.isDirectory(directory) else { throw DataError.fileNotFound(path: directory) }
        let prefix = split == .train ? "train" : "t10k"
        let images = try IDXDataset.locate(directory, prefix, "images", "idx3-ubyte")
        let labels = try IDXDataset.locate(directory, prefix, "labels", "idx1-ubyte")
        try self.init(imagesPath: images, labelsPath: labels, classes: classes,
                      normalization: normalization, name: "\(directory) (\(split.rawValue))")
    }

    static func locate(_ dir: String, _ prefix: String, _ kind: String, _ suffix: String) throws -> String {
        let stems = ["\(prefix)-\(kind)-\(suffix)", "\(prefix)-\(kind).\(suffix)"]
        for stem in stems {
            for candidate in [stem, stem + ".gz"] {
                let path = FileIO.join(dir, candidate)
                if FileIO.exists(path) { return path }
            }
        }
        throw DataError.fileNotFound(path: FileIO.join(dir, stems[0] + "(.gz)"))
    }

    /// A file's bytes as stored (raw or gzip), at most what the largest valid file can take.
    static func readFile(_ path: String) throws -> [UInt8] {
        try FileIO.read(path, limit: DataLimits.idxDataBytes + 4 + 4 * 255, what: "IDX file")
    }

    /// The dimensions and uncompressed bytes (header included) of an IDX file held in `file`,
    /// raw or gzip. A gzip file's header is inflated first; the rest only when the declared size
    /// is within ``DataLimits/idxDataBytes`` and within what DEFLATE can expand the file to.
    static func decode(_ file: [UInt8], path: String, expectedDims: Int) throws -> (dims: [Int], bytes: [UInt8]) {
        let headerSize = 4 + 4 * expectedDims
        guard file.count >= 2 && file[0] == 0x1F && file[1] == 0x8B else {
            let dims = try parseHeader(file, path: path, expectedDims: expectedDims)
            return (dims, file)
        }
        do {
            return try file.withUnsafeBytes { raw in
                let head = try Zlib.inflatePrefix(raw, framing: .gzipOrZlib, count: headerSize)
                let (dims, dataBytes) = try parseDimensions(head, path: path, expectedDims: expectedDims)
                let expected = headerSize + dataBytes
                guard expected <= file.count * DataLimits.deflateMaxRatio else {
                    throw DataError.malformed(path: path,
                        reason: "dimensions \(dims) need \(expected) bytes, more than a \(file.count)-byte gzip file can inflate to")
                }
                let bytes: [UInt8]
                do {
                    bytes = try Zlib.inflate(raw, framing: .gzipOrZlib, limit: expected)
                } catch Zlib.Failure.exceedsLimit {
                    throw DataError.malformed(path: path,
                        reason: "has trailing bytes: dimensions \(dims) need \(expected) bytes, the gzip data inflates to more")
                }
                try checkLength(bytes.count, dims: dims, expected: expected, path: path)
                return (dims, bytes)
            }
        } catch let failure as Zlib.Failure {
            throw DataError.malformed(path: path, reason: "gzip: \(failure)")
        }
    }

    /// Validates a whole (uncompressed) IDX file and returns its dimensions.
    static func parseHeader(_ bytes: [UInt8], path: String, expectedDims: Int) throws -> [Int] {
        let (dims, dataBytes) = try parseDimensions(bytes, path: path, expectedDims: expectedDims)
        try checkLength(bytes.count, dims: dims, expected: 4 + 4 * expectedDims + dataBytes, path: path)
        return dims
    }

    /// The dimensions a header (the first `4 + 4·nd` bytes) declares and the data bytes they
    /// need, after checking its magic and that the data is within ``DataLimits/idxDataBytes``.
    static func parseDimensions(_ bytes: [UInt8], path: String, expectedDims: Int) throws -> (dims: [Int], dataBytes: Int) {
        guard bytes.count >= 4 else {
            throw DataError.malformed(path: path, reason: "file of \(bytes.count) bytes is too short for an IDX header")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError.malformed(path: path, reason: "bad IDX magic (first two bytes must be zero)")
        }
        guard bytes[2] == 0x08 else {
            throw DataError.malformed(path: path,
                reason: String(format: "IDX element type 0x%02x is not unsigned byte (0x08)", bytes[2]))
        }
        guard Int(bytes[3]) == expectedDims else {
            throw DataError.malformed(path: path,
                reason: "IDX file has \(bytes[3]) dimensions, expected \(expectedDims)")
        }
        guard bytes.count >= 4 + 4 * expectedDims else {
            throw DataError.malformed(path: path, reason: "truncated IDX header")
        }
        var dims = [Int]()
        var product = 1
        var saturated = false
        for d in 0..<expectedDims {
            let o = 4 + 4 * d
            let v = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(v)
            let (next, overflow) = product.multipliedReportingOverflow(by: v)
            product = next
            saturated = saturated || overflow   // (2^32 - 1)^3 does not fit in 64 bits
        }
        if dims.contains(0) { return (dims, 0) }
        guard !saturated, product <= DataLimits.idxDataBytes else {
            throw DataError.tooLarge(path: path, what: "the data the IDX header declares (dimensions \(dims))",
                                     found: saturated ? "more than 2^63 bytes" : "\(product) bytes",
                                     limit: "\(DataLimits.idxDataBytes) bytes")
        }
        return (dims, product)
    }

    private static func checkLength(_ count: Int, dims: [Int], expected: Int, path: String) throws {
        guard count == expected else {
            let how = count < expected ? "truncated" : "has trailing bytes"
            throw DataError.malformed(path: path,
                reason: "\(how): dimensions \(dims) need \(expected) bytes, file has \(count)")
        }
    }

    public func image(at index: Int) throws -> Image {
        try checkIndex(index)
        let size = rows * columns
        let start = 16 + index * size
        return Image(width: columns, height: rows, channels: 1,
                     pixels: Array(fileBytes[start..<(start + size)]))
    }

    public func label(at index: Int) -> Int { Int(labelValues[index]) }
}
