import Foundation

/// The CLI's `--data` argument.
///
/// | spec | meaning |
/// |---|---|
/// | `fashion-mnist` | IDX files in Debian's `/usr/share/datasets/fashion-mnist/` |
/// | `fashion-mnist:DIR` | Fashion-MNIST IDX files in DIR |
/// | `mnist:DIR`, `idx:DIR` | MNIST-style IDX files in DIR (digit classes, MNIST normalisation) |
/// | `cifar10:DIR`, `cifar100:DIR` | CIFAR binary batches in DIR |
/// | `imagefolder:DIR` | DIR/train + DIR/val (or DIR/test); or DIR itself holds the class folders (both splits) |
/// | `images:DIR` | an unlabelled folder of images, at any depth (``UnlabelledFolder``; both splits) |
/// | `synthetic:N` | N images synthesised from the teacher (made by the `Practise` library, not opened here) |
/// | `bundled` | the Fashion-MNIST subset shipped in `Assets/fashion-mnist-subset` |
public struct DataSpec: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case fashionMNIST = "fashion-mnist"
        case mnist
        case idx
        case cifar10
        case cifar100
        case imageFolder = "imagefolder"
        case images
        case synthetic
        case bundled
    }

    public static let debianFashionMNIST = "/usr/share/datasets/fashion-mnist"
    /// Folder of the bundled subset inside `Assets`.
    public static let bundledSubfolder = "fashion-mnist-subset"

    public var kind: Kind
    /// Root folder; nil for `bundled` (resolved by `AssetLocator` on open).
    public var root: String?
    /// `ImageFolder` option: leave out undecodable files instead of failing.
    public var skipBadImages: Bool
    /// Number of images of a `synthetic:N` spec; nil for other kinds.
    public var syntheticCount: Int?

    public init(kind: Kind, root: String?, skipBadImages: Bool = false, syntheticCount: Int? = nil) {
        self.kind = kind
        self.root = root
        self.skipBadImages = skipBadImages
        self.syntheticCount = syntheticCount
    }

    /// Parses `kind` or `kind:DIR` (kind case-insensitive; `imagenet` is an
    /// alias of `imagefolder`, `fashionmnist` of `fashion-mnist`).
    public static func parse(_ string: String) throws -> DataSpec {
        let text = string.trimmingCharacters(in: .whitespaces)
        let head: String, dir: String?
        if let colon = text.firstIndex(of: ":") {
            head = String(text[..<colon])
            dir = String(text[text.index(after: colon)...])
        } else {
            head = text
            dir = nil
        }
        let aliases: [String: Kind] = ["imagenet": .imageFolder, "fashionmnist": .fashionMNIST, "cifar-10": .cifar10,
                                       "cifar-100": .cifar100, "image-folder": .imageFolder]
        guard let kind = Kind(rawValue: head.lowercased()) ?? aliases[head.lowercased()] else {
            let known = Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw DataError.invalidSpec(spec: string, reason: "unknown kind '\(head)' (known: \(known))")
        }
        if let dir, dir.isEmpty {
            switch kind {
            case .synthetic: throw DataError.invalidSpec(spec: string, reason: "'synthetic' needs a positive image count: synthetic:N (e.g. synthetic:100)")
            case .bundled: throw DataError.invalidSpec(spec: string, reason: "'bundled' takes no directory")
            default: throw DataError.invalidSpec(spec: string, reason: "empty directory after ':'")
            }
        }
        switch kind {
        case .bundled:
            if dir != nil { throw DataError.invalidSpec(spec: string, reason: "'bundled' takes no directory") }
            return DataSpec(kind: .bundled, root: nil)
        case .fashionMNIST:
            return DataSpec(kind: kind, root: dir ?? debianFashionMNIST)
        case .synthetic:
            guard let dir, let n = Int(dir), n > 0 else {
                throw DataError.invalidSpec(spec: string, reason: "'synthetic' needs a positive image count: synthetic:N (e.g. synthetic:100)")
            }
            return DataSpec(kind: .synthetic, root: nil, syntheticCount: n)
        default:
            guard let dir else {
                throw DataError.invalidSpec(spec: string, reason: "'\(kind.rawValue)' needs a directory: \(kind.rawValue):DIR")
            }
            return DataSpec(kind: kind, root: dir)
        }
    }

    public var description: String {
        if let n = syntheticCount { return "\(kind.rawValue):\(n)" }
        return root.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue
    }

    /// Opens the split. Errors: a missing root, an empty folder, a malformed
    /// file — each naming the path.
    public func open(split: Split) throws -> any Dataset {
        switch kind {
        case .bundled:
            let assets = try AssetLocator.locate(containing: DataSpec.bundledSubfolder)
            return try IDXDataset(directory: FileIO.join(assets, DataSpec.bundledSubfolder), split: split,
                                  classes: IDXDataset.fashionClasses, normalization: .fashionMNIST)
        case .fashionMNIST:
            return try IDXDataset(directory: try existingRoot(), split: split,
                                  classes: IDXDataset.fashionClasses, normalization: .fashionMNIST)
        case .mnist, .idx:
            return try IDXDataset(directory: try existingRoot(), split: split)
        case .cifar10:
            return try CIFARDataset(directory: try existingRoot(), variant: .cifar10, split: split)
        case .cifar100:
            return try CIFARDataset(directory: try existingRoot(), variant: .cifar100, split: split)
        case .imageFolder:
            let folder = try ImageFolder(root: try imageFolderRoot(split: split), skipBadImages: skipBadImages)
            if split != .train, let trainRoot = try? imageFolderRoot(split: .train), trainRoot != folder.root {
                let trainClasses = Set(try FileIO.list(trainRoot).filter { !$0.hasPrefix(".") && FileIO.isDirectory(FileIO.join(trainRoot, $0)) })
                let evalClasses = Set(folder.classes)
                if trainClasses != evalClasses {
                    throw DataError.splitClassesDiffer(trainRoot: trainRoot, evalRoot: folder.root,
                                                       onlyInTrain: trainClasses.subtracting(evalClasses).sorted(by: FileIO.codePointLess),
                                                       onlyInEval: evalClasses.subtracting(trainClasses).sorted(by: FileIO.codePointLess))
                }
            }
            return folder
        case .images:
            return try UnlabelledFolder(root: try existingRoot(), skipBadImages: skipBadImages)
        case .synthetic:
            throw DataError.invalidSpec(spec: description, reason: "synthetic images are made from the teacher's weights by the command that uses them (or by `practise synthesize`), not opened as files")
        }
    }

    /// Whether this is an `imagefolder:DIR` without train/, val/ or test/ folders: DIR's class
    /// folders then serve every split, so it holds no images kept out of training.
    public var isFlatImageFolder: Bool {
        guard kind == .imageFolder, let root, FileIO.isDirectory(root) else { return false }
        return !["train", "val", "test"].contains { FileIO.isDirectory(FileIO.join(root, $0)) }
    }

    /// The folder `open(split:)` reads for an ImageFolder spec.
    public func imageFolderRoot(split: Split) throws -> String {
        let root = try existingRoot()
        let names = split == .train ? ["train"] : ["val", "test"]
        for n in names where FileIO.isDirectory(FileIO.join(root, n)) { return FileIO.join(root, n) }
        let hasSplitFolders = ["train", "val", "test"].contains { FileIO.isDirectory(FileIO.join(root, $0)) }
        if hasSplitFolders {
            throw DataError.fileNotFound(path: FileIO.join(root, names.joined(separator: " or ")))
        }
        return root   // flat: root holds the class folders, for either split
    }

    private func existingRoot() throws -> String {
        guard let root else { throw DataError.invalidSpec(spec: description, reason: "no directory") }
        guard FileIO.exists(root) else { throw DataError.fileNotFound(path: root) }
        guard FileIO.isDirectory(root) else { throw DataError.unreadable(path: root, reason: "not a directory") }
        return root
    }

    /// The usual transform for this data: training augmentation when
    /// `train`, else the evaluation transform; normalisation as given
    /// (default: the dataset kind's).
    public func defaultTransform(train: Bool, normalization: Normalization? = nil) -> TransformPipeline {
        switch kind {
        case .bundled, .fashionMNIST:
            return .tensorOnly(normalization ?? .fashionMNIST)
        case .mnist, .idx:
            return .tensorOnly(normalization ?? .mnist)
        case .cifar10, .cifar100:
            return train ? .cifarTrain(normalization: normalization ?? .imageNet)
                         : .tensorOnly(normalization ?? .imageNet)
        case .imageFolder, .images, .synthetic:
            return train ? .imageNetTrain(normalization: normalization ?? .imageNet)
                         : .imageNetEval(normalization: normalization ?? .imageNet)
        }
    }
}
