import Foundation

/// A folder of images without labels (`images:DIR`): every `.jpg`, `.jpeg` or `.png` file under
/// `root`, at any depth, in torchvision's walk order (directories in sorted path order, files
/// sorted by name within each). Hidden entries are ignored, and so is the contact sheet at the
/// top of a synthesised set (``SyntheticSetLayout``). Decoded images are RGB, as in
/// ``ImageFolder``.
///
/// It has no classes (`classes` is empty and `label(at:)` is −1): it can feed what needs no
/// labels (the recoverability analysis, MiR and KD finetuning), never cross-entropy or
/// accuracy.
public struct UnlabelledFolder: Dataset {
    public let name: String
    public let root: String
    public let classes: [String] = []
    public let channels = 3
    public let defaultNormalization: Normalization
    /// Paths of the samples relative to `root`, index order.
    public let files: [String]
    private let keyIndex: [String: Int]

    public var count: Int { files.count }

    /// Files left out by `skipBadImages`, relative to `root`, with the reason.
    public let skippedFiles: [(path: String, reason: String)]

    /// With `skipBadImages` every file is decoded once here and those that fail are left out
    /// (``skippedFiles``), as ``ImageFolder`` does.
    public init(root: String, skipBadImages: Bool = false, normalization: Normalization = .imageNet) throws {
        let rootPath = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        guard FileIO.exists(rootPath) else { throw DataError.fileNotFound(path: rootPath) }
        guard FileIO.isDirectory(rootPath) else { throw DataError.unreadable(path: rootPath, reason: "not a directory") }
        var files = [String]()
        // The top folder's own files first, then each sub-folder's tree in sorted order.
        let entries = try FileIO.list(rootPath).filter { !$0.hasPrefix(".") }.sorted(by: FileIO.codePointLess)
        // A synthesised set's contact sheet is a picture of the set, not one of its images.
        let isSyntheticSet = entries.contains(SyntheticSetLayout.manifestFile) && entries.contains(SyntheticSetLayout.contactSheetFile)
        for e in entries where !FileIO.isDirectory(FileIO.join(rootPath, e)) && Self.isImageName(e) {
            if isSyntheticSet && e == SyntheticSetLayout.contactSheetFile { continue }
            files.append(e)
        }
        for e in entries where FileIO.isDirectory(FileIO.join(rootPath, e)) {
            files += try ImageFolder.walk(root: rootPath, relative: e)
        }
        guard !files.isEmpty else {
            throw DataError.emptyDataset(path: rootPath, reason: "no .jpg/.jpeg/.png file found (at any depth)")
        }
        var skipped = [(path: String, reason: String)]()
        if skipBadImages {
            let failures = ImageFolder.findUndecodable(root: rootPath, files: files)
            let bad = Set(failures.map(\.index))
            skipped = failures.map { (files[$0.index], $0.reason) }
            files = files.indices.filter { !bad.contains($0) }.map { files[$0] }
            guard !files.isEmpty else { throw DataError.emptyDataset(path: rootPath, reason: "no decodable image found") }
        }
        self.skippedFiles = skipped
        self.root = rootPath
        self.name = rootPath
        self.files = files
        self.defaultNormalization = normalization
        var index = [String: Int](minimumCapacity: files.count)
        for (i, f) in files.enumerated() { index[f] = i }
        self.keyIndex = index
    }

    static func isImageName(_ n: String) -> Bool {
        guard let dot = n.lastIndex(of: ".") else { return false }
        return ImageFolder.extensions.contains(n[n.index(after: dot)...].lowercased())
    }

    public func image(at index: Int) throws -> Image {
        try checkIndex(index)
        return try ImageDecoder.decode(path: FileIO.join(root, files[index]))
    }

    /// −1: no labels.
    public func label(at index: Int) -> Int { -1 }

    /// The path relative to `root`.
    public func sampleKey(at index: Int) -> String { files[index] }

    public func index(forSampleKey key: String) -> Int? {
        var parts = key.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        while let first = parts.first, first == "." { parts.removeFirst() }
        return keyIndex[parts.joined(separator: "/")]
    }
}

/// The two files at the top of a folder written by `practise synthesize` besides its images.
public enum SyntheticSetLayout {
    /// The set's settings (teacher, count, input, synthesis hyper-parameters).
    public static let manifestFile = "settings.json"
    /// A grid of the set's first images, for a person to look at.
    public static let contactSheetFile = "contact-sheet.png"
}
