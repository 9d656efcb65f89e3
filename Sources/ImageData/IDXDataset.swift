import Foundation

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

    /// Reads an image file and a label file (each raw or gzip).
    public init(imagesPath: String, labelsPath: String,
                classes: [String] = IDXDataset.digitClasses,
                normalization: Normalization = .mnist,
                name: String? = nil) throws {
        let imageBytes = try FileIO.readMaybeGzip(imagesPath)
        let labelBytes = try FileIO.readMaybeGzip(labelsPath)
        let imageDims = try IDXDataset.parseHeader(imageBytes, path: imagesPath, expectedDims: 3)
        let labelDims = try IDXDataset.parseHeader(labelBytes, path: labelsPath, expectedDims: 1)
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

    /// Validates an IDX header and returns its dimensions.
    static func parseHeader(_ bytes: [UInt8], path: String, expectedDims: Int) throws -> [Int] {
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
        let headerSize = 4 + 4 * expectedDims
        guard bytes.count >= headerSize else {
            throw DataError.malformed(path: path, reason: "truncated IDX header")
        }
        var dims = [Int]()
        var product = 1
        for d in 0..<expectedDims {
            let o = 4 + 4 * d
            let v = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(v)
            product *= v
        }
        let expected = headerSize + product
        guard bytes.count == expected else {
            let how = bytes.count < expected ? "truncated" : "has trailing bytes"
            throw DataError.malformed(path: path,
                reason: "\(how): dimensions \(dims) need \(expected) bytes, file has \(bytes.count)")
        }
        return dims
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
