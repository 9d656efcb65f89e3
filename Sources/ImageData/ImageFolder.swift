import Foundation

/// torchvision-style `ImageFolder`: `root/<class>/**/<file>`.
///
/// * Classes are the sub-folder names of `root`, sorted by code point
///   (Python's `sorted`); label `l` is `classes[l]`.
/// * Files are collected like torchvision: for each class, its folder tree
///   is walked with directories visited in sorted path order and files
///   sorted by name within each directory.
/// * A file is taken when its extension is `.jpg`, `.jpeg` or `.png`, in any
///   case. Hidden entries (name starting with ".") are ignored.
/// * Decoding goes by the file's magic bytes (`ImageDecoder`); images are RGB.
/// * A class folder without any image file is an error, as in torchvision.
///
/// With `skipBadImages` every file is decoded once at open time (in
/// parallel); files that fail are left out and listed in `skippedFiles`.
/// Without it, opening only lists files, and a bad file makes `image(at:)`
/// throw a `DataError` naming it.
public struct ImageFolder: Dataset {
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    public let name: String
    /// The folder holding the class folders.
    public let root: String
    public let classes: [String]
    public let channels = 3
    public let defaultNormalization: Normalization
    /// Paths of the samples relative to `root` (`<class>/<file>`), index order.
    public let files: [String]
    /// Label of each sample, index order.
    public let fileLabels: [Int]
    /// Files left out by `skipBadImages`, relative to `root`, with the reason.
    public let skippedFiles: [(path: String, reason: String)]
    private let keyIndex: [String: Int]

    public var count: Int { files.count }

    public init(root: String, skipBadImages: Bool = false,
                normalization: Normalization = .imageNet) throws {
        let rootPath = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        let entries = try FileIO.list(rootPath)
        let classNames = entries
            .filter { !$0.hasPrefix(".") && FileIO.isDirectory(FileIO.join(rootPath, $0)) }
            .sorted(by: FileIO.codePointLess)
        guard !classNames.isEmpty else {
            throw DataError.emptyDataset(path: rootPath, reason: "no class sub-folders found")
        }
        var files = [String]()
        var labels = [Int]()
        for (label, cls) in classNames.enumerated() {
            let found = try ImageFolder.walk(root: rootPath, relative: cls)
            guard !found.isEmpty else {
                throw DataError.emptyDataset(path: FileIO.join(rootPath, cls),
                    reason: "class folder has no .jpg/.jpeg/.png file")
            }
            files += found
            labels += [Int](repeating: label, count: found.count)
        }
        var skipped = [(path: String, reason: String)]()
        if skipBadImages {
            let failures = ImageFolder.findUndecodable(root: rootPath, files: files)
            if !failures.isEmpty {
                let bad = Set(failures.map(\.index))
                skipped = failures.map { (files[$0.index], $0.reason) }
                let keep = files.indices.filter { !bad.contains($0) }
                files = keep.map { files[$0] }
                labels = keep.map { labels[$0] }
            }
            guard !files.isEmpty else {
                throw DataError.emptyDataset(path: rootPath, reason: "no decodable image found")
            }
        }
        self.root = rootPath
        self.name = rootPath
        self.classes = classNames
        self.files = files
        self.fileLabels = labels
        self.skippedFiles = skipped
        self.defaultNormalization = normalization
        var index = [String: Int](minimumCapacity: files.count)
        for (i, f) in files.enumerated() { index[f] = i }
        self.keyIndex = index
    }

    /// Image files under `root/relative`, torchvision walk order, as paths relative to `root`.
    static func walk(root: String, relative: String) throws -> [String] {
        var result = [String]()
        var dirs = [relative]          // directories to visit, in sorted path order
        while !dirs.isEmpty {
            let dir = dirs.removeFirst()
            let names = try FileIO.list(FileIO.join(root, dir)).filter { !$0.hasPrefix(".") }
            var subdirs = [String]()
            var images = [String]()
            for n in names {
                let rel = dir + "/" + n
                if FileIO.isDirectory(FileIO.join(root, rel)) {
                    subdirs.append(rel)
                } else if let dot = n.lastIndex(of: "."),
                          ImageFolder.extensions.contains(n[n.index(after: dot)...].lowercased()) {
                    images.append(rel)
                }
            }
            result += images.sorted(by: FileIO.codePointLess)
            // os.walk + sorted(): all directory paths of the tree in sorted order.
            dirs = (dirs + subdirs).sorted(by: FileIO.codePointLess)
        }
        return result
    }

    static func findUndecodable(root: String, files: [String]) -> [(index: Int, reason: String)] {
        final class Box: @unchecked Sendable {
            var reasons: [String?]
            let lock = NSLock()
            init(_ n: Int) { reasons = [String?](repeating: nil, count: n) }
        }
        let box = Box(files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            do {
                _ = try ImageDecoder.decode(path: FileIO.join(root, files[i]))
            } catch {
                box.lock.lock()
                box.reasons[i] = "\(error)"
                box.lock.unlock()
            }
        }
        return box.reasons.enumerated().compactMap { i, r in r.map { (i, $0) } }
    }

    public func image(at index: Int) throws -> Image {
        try checkIndex(index)
        return try ImageDecoder.decode(path: FileIO.join(root, files[index]))
    }

    public func label(at index: Int) -> Int { fileLabels[index] }

    /// `<class>/<file>`, relative to `root`.
    public func sampleKey(at index: Int) -> String { files[index] }

    /// Accepts `<class>/<file>` relative to `root`, with or without a leading
    /// `./`, and longer paths whose tail is such a key (e.g. the reference's
    /// `./train/<class>/<file>` when `root` is `…/train`).
    public func index(forSampleKey key: String) -> Int? {
        var parts = key.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        while let first = parts.first, first == "." { parts.removeFirst() }
        while !parts.isEmpty {
            if let i = keyIndex[parts.joined(separator: "/")] { return i }
            parts.removeFirst()
        }
        return nil
    }
}
