/// The fuzzing entry point for the data readers, shared by the XCTest mutation loop
/// (Tests/ImageDataTests/DataFuzzTests.swift) and the libFuzzer harness (Fuzz/DataFuzz.swift).
///
/// Feeds the same bytes to every reader of untrusted files: the JPEG/PNG decoder (the format is
/// sniffed from the bytes, so both decoders are reached), the IDX reader as an image file and
/// as a label file (raw or gzip), and the CIFAR-10 and CIFAR-100 record readers; every sample of
/// what opens is read back. Errors are expected; a crash, a hang or an allocation beyond
/// ``DataLimits`` is a bug.
enum DataFuzzing {
    /// Which readers get the bytes.
    enum Target: String, CaseIterable { case image, idx, cifar }

    static func run(_ bytes: [UInt8], targets: [Target] = Target.allCases) {
        for target in targets {
            switch target {
            case .image: image(bytes)
            case .idx: idx(bytes)
            case .cifar: cifar(bytes)
            }
        }
    }

    private static func image(_ bytes: [UInt8]) {
        if let image = try? ImageDecoder.decode(bytes, name: "fuzz") {
            precondition(image.pixels.count == image.width * image.height * 3 && image.width * image.height <= DataLimits.imagePixels)
        }
    }

    private static func cifar(_ bytes: [UInt8]) {
        for variant in [CIFARDataset.Variant.cifar10, .cifar100] {
            guard (try? CIFARDataset.checkRecords(bytes, variant: variant, path: "fuzz.bin")) != nil else { continue }
            let classes = variant == .cifar10 ? CIFARDataset.cifar10Classes : (0..<100).map(String.init)
            guard let set = try? CIFARDataset(records: bytes, variant: variant, classes: classes, path: "fuzz.bin",
                                              name: "fuzz", normalization: .imageNet) else { continue }
            for i in [0, set.count - 1] { _ = try? set.image(at: i); _ = set.label(at: i) }
        }
    }

    /// The bytes as an IDX image file (with labels made to match) and as a label file (with
    /// 1×1 images made to match).
    private static func idx(_ bytes: [UInt8]) {
        if let (dims, _) = try? IDXDataset.decode(bytes, path: "fuzz-images", expectedDims: 3), dims[0] <= 1 << 20 {
            let labels = header([dims[0]]) + [UInt8](repeating: 0, count: dims[0])
            if let set = try? IDXDataset(imageFile: bytes, imagesPath: "fuzz-images", labelFile: labels, labelsPath: "labels",
                                         classes: IDXDataset.digitClasses, normalization: .mnist, name: nil),
               set.count > 0 {
                for i in [0, set.count - 1] { _ = try? set.image(at: i) }
            }
        }
        if let (dims, _) = try? IDXDataset.decode(bytes, path: "fuzz-labels", expectedDims: 1), dims[0] <= 1 << 20 {
            let images = header([dims[0], 1, 1]) + [UInt8](repeating: 0, count: dims[0])
            if let set = try? IDXDataset(imageFile: images, imagesPath: "images", labelFile: bytes, labelsPath: "fuzz-labels",
                                         classes: IDXDataset.digitClasses, normalization: .mnist, name: nil) {
                _ = set.labels
            }
        }
    }

    /// An uncompressed IDX header (unsigned bytes) with these dimensions.
    static func header(_ dims: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in (0..<4).map { UInt8(truncatingIfNeeded: d >> (24 - 8 * $0)) } }
    }
}
