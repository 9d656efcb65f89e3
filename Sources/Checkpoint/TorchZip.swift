/// Reader for PyTorch's zip checkpoint format (`torch.save`, torch ≥ 1.6):
///
///     <folder>/data.pkl     pickle (protocol 2) of the saved object
///     <folder>/data/<key>   raw little-endian storage bytes
///     <folder>/version      format version
///     <folder>/byteorder    "little" (newer torch; optional)
///
/// `<folder>` can have any name. Storages are referenced from the pickle by
/// persistent ids and tensors are views on them (offset + strides), which
/// are gathered into contiguous Float arrays here.
enum TorchZip {
    /// Upper bound on Float values produced, per byte of file or inflated
    /// storage: generous for real checkpoints (f16 → f32, tied weights) but
    /// stops views that replay one storage many times (stride 0, or one
    /// tensor listed under many names) from exhausting memory.
    static let valuesPerByte = 16

    /// Most bytes inflated from deflated entries, all entries of one file together: 1 GiB
    /// (ResNet-101 in float64 is 356 MB). Checked against the entries' declared sizes before
    /// anything is inflated, as is each storage entry's size against what the pickle declares.
    static let maxInflatedBytes = 1 << 30

    static func decode(bytes: UnsafeRawBufferPointer, verifyChecksums: Bool = true) throws -> StateDict {
        let archive = try ZipArchive(bytes)
        let (pickleEntry, prefix) = try findDataPickle(archive)
        try checkByteOrder(archive, prefix: prefix)

        let arena = PickleArena()
        defer { arena.teardown() }
        var inflated = 0
        try reserveInflation(of: pickleEntry, total: &inflated)
        let root = try archive.contents(of: pickleEntry, verify: verifyChecksums).withBytes {
            try Unpickler.load($0, name: pickleEntry.name, arena: arena)
        }
        let extracted = try StateDictExtraction.extract(root)

        var result = StateDict(metadata: extracted.metadata, rmBlocks: extracted.rmBlocks)
        result.order.reserveCapacity(extracted.tensors.count)
        var storages: [String: ZipContents] = [:]
        var budget = valuesPerByte * bytes.count + (1 << 20)
        for (name, ref) in extracted.tensors {
            let path = "data/\(ref.storage.key)"
            let contents: ZipContents
            if let cached = storages[path] {
                contents = cached
            } else {
                guard let entry = archive.entry(named: prefix + path) else {
                    throw fail("tensor '\(name)' refers to storage '\(path)', which is not in the archive")
                }
                if entry.method != 0 {
                    let dtype = ref.storage.dtype
                    let (declared, overflow) = ref.storage.count.multipliedReportingOverflow(by: dtype.byteSize)
                    guard !overflow, entry.uncompressedSize <= declared else {
                        throw fail("storage '\(path)' of tensor '\(name)' is declared by the pickle as \(ref.storage.count) \(dtype.rawValue) elements (\(overflow ? "too many" : String(declared)) bytes) but its zip entry inflates to \(entry.uncompressedSize) bytes; refusing to inflate it")
                    }
                    try reserveInflation(of: entry, total: &inflated)
                }
                contents = try archive.contents(of: entry, verify: verifyChecksums)
                storages[path] = contents
                if entry.method != 0 { budget += valuesPerByte * entry.uncompressedSize }
            }
            let values = try contents.withBytes {
                try gather(name: name, ref: ref, path: path, storage: $0, budget: &budget)
            }
            result.set(name, TensorRecord(shape: ref.shape, sourceDType: ref.storage.dtype, values: values))
        }
        return result
    }

    /// Adds a deflated entry's declared size to `total`, refusing it before it is inflated when
    /// the file would pass ``maxInflatedBytes``.
    private static func reserveInflation(of entry: ZipEntry, total: inout Int) throws {
        guard entry.method != 0 else { return }
        total += entry.uncompressedSize   // each at most Int.max / 2 (ZipArchive checks)
        guard total <= maxInflatedBytes else {
            throw fail("zip entry '\(entry.name)' declares \(entry.uncompressedSize) bytes uncompressed, which takes the file's decompressed data to \(total) bytes, more than the limit of \(maxInflatedBytes) bytes")
        }
    }

    /// The single `<folder>/data.pkl` entry and its `<folder>/` prefix.
    private static func findDataPickle(_ archive: ZipArchive) throws -> (ZipEntry, String) {
        let candidates = archive.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard let first = candidates.first else {
            throw fail("zip archive has no '<folder>/data.pkl' entry, so it is not a PyTorch checkpoint")
        }
        guard candidates.count == 1 else {
            let names = candidates.map { "'\($0.name)'" }.joined(separator: ", ")
            throw fail("zip archive has several data.pkl entries (\(names))")
        }
        return (first, String(first.name.dropLast("data.pkl".count)))
    }

    private static func checkByteOrder(_ archive: ZipArchive, prefix: String) throws {
        guard let entry = archive.entry(named: prefix + "byteorder") else { return }
        guard entry.uncompressedSize <= 64 else {
            throw fail("zip entry '\(entry.name)' declares \(entry.uncompressedSize) bytes; a byte-order entry holds 'little' or 'big'")
        }
        let text = try archive.contents(of: entry).withBytes { String(decoding: $0, as: UTF8.self) }
        guard text.trimmingSpaces == "little" else {
            throw fail("checkpoint byte order is '\(text.trimmingSpaces.prefix(16))'; only little-endian checkpoints are supported")
        }
    }

    /// Validates that the view fits in the storage, then gathers it.
    private static func gather(
        name: String, ref: TensorRef, path: String, storage: UnsafeRawBufferPointer, budget: inout Int
    ) throws -> [Float] {
        let dtype = ref.storage.dtype
        let size = dtype.byteSize
        let (declaredBytes, overflow) = ref.storage.count.multipliedReportingOverflow(by: size)
        guard !overflow, declaredBytes <= storage.count else {
            throw fail("storage '\(path)' declares \(ref.storage.count) \(dtype.rawValue) elements but has only \(storage.count) bytes")
        }
        guard let extent = TensorLayout.storageExtent(offset: ref.offset, shape: ref.shape, strides: ref.strides),
              case let (needed, o) = extent.multipliedReportingOverflow(by: size), !o
        else { throw fail("tensor '\(name)' has a size, stride or offset that overflows") }
        guard needed <= declaredBytes else {
            throw fail("tensor '\(name)' needs \(needed) bytes but storage '\(path)' has \(declaredBytes)")
        }
        let count = ref.shape.reduce(1, *)  // no overflow: storageExtent checked it
        budget -= count
        guard budget >= 0 else {
            throw fail("tensor '\(name)' takes the checkpoint past \(valuesPerByte) values per stored byte; refusing views that repeat storage data this much")
        }
        return DTypeConversion.strided(storage, dtype: dtype, offset: ref.offset, shape: ref.shape, strides: ref.strides)
    }
}

extension String {
    /// The string without leading/trailing ASCII whitespace.
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
