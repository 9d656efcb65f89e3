import ZlibSupport

/// One file in a zip archive, as described by the central directory and
/// resolved against its local header.
struct ZipEntry {
    var name: String
    /// 0 = stored, 8 = deflated (the only methods accepted).
    var method: UInt16
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    /// Offset of the entry's (possibly compressed) bytes in the file.
    var dataOffset: Int
}

/// The bytes of an entry: borrowed from the file when stored, owned when
/// inflated.
enum ZipContents {
    case borrowed(UnsafeRawBufferPointer)
    case owned([UInt8])

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .borrowed(let raw): return try body(raw)
        case .owned(let array): return try array.withUnsafeBytes(body)
        }
    }
}

/// A minimal, defensive zip reader: end-of-central-directory (with Zip64),
/// central directory, local headers; stored and deflated entries; CRC-32
/// checked on every read.
///
/// Every offset and length from the file is checked against the file size
/// before use, entry counts are checked against the central directory size
/// before allocating, and names must be unique UTF-8.
/// `file` is borrowed: the archive must not outlive it.
struct ZipArchive {
    let file: UnsafeRawBufferPointer
    /// Entries in central-directory order.
    private(set) var entries: [ZipEntry] = []
    private var index: [String: Int] = [:]

    private static let eocdSignature: UInt32 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64EOCDSignature: UInt32 = 0x0606_4b50
    private static let centralSignature: UInt32 = 0x0201_4b50
    private static let localSignature: UInt32 = 0x0403_4b50

    init(_ file: UnsafeRawBufferPointer) throws {
        self.file = file
        let (count, cdOffset, cdSize, cdLimit) = try Self.findCentralDirectory(file)
        guard cdOffset <= cdLimit, cdSize <= cdLimit - cdOffset else {
            throw fail("corrupt zip: central directory (offset \(cdOffset), \(cdSize) bytes) lies outside the file")
        }
        guard count <= cdSize / 46 else {
            throw fail("corrupt zip: \(count) entries cannot fit in a \(cdSize)-byte central directory")
        }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: file[cdOffset..<(cdOffset + cdSize)]), what: "zip central directory")
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let entry = try readCentralEntry(&reader, cdOffset: cdOffset, dataLimit: cdOffset)
            guard index[entry.name] == nil else { throw fail("corrupt zip: duplicate entry '\(entry.name)'") }
            index[entry.name] = entries.count
            entries.append(entry)
        }
    }

    func entry(named name: String) -> ZipEntry? {
        index[name].map { entries[$0] }
    }

    /// The entry's uncompressed bytes, CRC-checked unless `verify` is false
    /// (only the fuzzers turn it off, to reach the parsers behind it).
    func contents(of entry: ZipEntry, verify: Bool = true) throws -> ZipContents {
        let raw = UnsafeRawBufferPointer(rebasing: file[entry.dataOffset..<(entry.dataOffset + entry.compressedSize)])
        let contents: ZipContents
        if entry.method == 0 {
            contents = .borrowed(raw)
        } else {
            contents = .owned(try inflate(raw, entry: entry))
        }
        guard !verify || contents.withBytes(Zlib.crc32) == entry.crc32 else {
            throw fail("corrupt zip: CRC-32 mismatch in entry '\(entry.name)'")
        }
        return contents
    }

    /// A deflated entry's bytes, which must be exactly its declared uncompressed size; inflation
    /// stops one byte past it, so a lying size cannot make it allocate more.
    private func inflate(_ raw: UnsafeRawBufferPointer, entry: ZipEntry) throws -> [UInt8] {
        let name = entry.name, expected = entry.uncompressedSize
        let bytes: [UInt8]
        do {
            bytes = try Zlib.inflate(raw, framing: .rawDeflate, limit: expected)
        } catch .truncated {
            throw fail("corrupt zip: entry '\(name)' deflate data ends early")
        } catch .exceedsLimit {
            throw fail("corrupt zip: entry '\(name)' inflates to more than its declared \(expected) bytes")
        } catch let failure {
            throw fail("corrupt zip: entry '\(name)' has \(failure)")
        }
        guard bytes.count == expected else {
            throw fail("corrupt zip: entry '\(name)' inflates to \(bytes.count) bytes, expected \(expected)")
        }
        return bytes
    }

    // MARK: - Parsing

    /// Returns (entry count, central directory offset, size, and the offset
    /// the central directory must end before).
    private static func findCentralDirectory(_ file: UnsafeRawBufferPointer) throws -> (Int, Int, Int, Int) {
        guard file.count >= 22 else {
            throw fail("not a zip archive: \(file.count) bytes is too short for an end of central directory record")
        }
        var eocd = -1
        let lowest = max(0, file.count - 22 - 0xffff)
        var at = file.count - 22
        while at >= lowest {
            if file.u32le(at) == eocdSignature,
               at + 22 + Int(file.u16le(at + 20)) <= file.count {
                eocd = at
                break
            }
            at -= 1
        }
        guard eocd >= 0 else {
            throw fail("not a zip archive: end of central directory record not found (truncated or corrupt file)")
        }
        let disk = file.u16le(eocd + 4)
        let cdDisk = file.u16le(eocd + 6)
        var count = UInt64(file.u16le(eocd + 10))
        var size = UInt64(file.u32le(eocd + 12))
        var offset = UInt64(file.u32le(eocd + 16))
        var limit = eocd
        if count == 0xffff || size == 0xffff_ffff || offset == 0xffff_ffff {
            // Zip64: a locator sits right before the classic record.
            let locator = eocd - 20
            guard locator >= 0, file.u32le(locator) == zip64LocatorSignature else {
                throw fail("corrupt zip: Zip64 end of central directory locator missing")
            }
            let recordOffset = file.u64le(locator + 8)
            guard recordOffset <= UInt64(locator), locator - Int(recordOffset) >= 56,
                  file.u32le(Int(recordOffset)) == zip64EOCDSignature
            else { throw fail("corrupt zip: Zip64 end of central directory record invalid") }
            let record = Int(recordOffset)
            guard file.u32le(record + 16) == 0, file.u32le(record + 20) == 0 else {
                throw fail("unsupported zip: multi-disk archives are not supported")
            }
            count = file.u64le(record + 32)
            size = file.u64le(record + 40)
            offset = file.u64le(record + 48)
            limit = record
        } else if disk != 0 || cdDisk != 0 {
            throw fail("unsupported zip: multi-disk archives are not supported")
        }
        guard count <= UInt64(file.count), size <= UInt64(file.count), offset <= UInt64(file.count) else {
            throw fail("corrupt zip: central directory (offset \(offset), \(size) bytes) lies outside the file")
        }
        return (Int(count), Int(offset), Int(size), limit)
    }

    /// Reads one central directory record and validates its local header.
    private func readCentralEntry(_ r: inout ByteReader, cdOffset: Int, dataLimit: Int) throws -> ZipEntry {
        let recordOffset = cdOffset + r.offset
        guard try r.u32() == Self.centralSignature else {
            throw fail("corrupt zip: bad central directory entry signature at offset \(recordOffset)")
        }
        _ = try r.u16()  // version made by
        _ = try r.u16()  // version needed
        let flags = try r.u16()
        let method = try r.u16()
        _ = try r.u32()  // time, date
        let crc = try r.u32()
        var compressed = UInt64(try r.u32())
        var uncompressed = UInt64(try r.u32())
        let nameLength = Int(try r.u16())
        let extraLength = Int(try r.u16())
        let commentLength = Int(try r.u16())
        _ = try r.u16()  // disk start
        _ = try r.u16()  // internal attributes
        _ = try r.u32()  // external attributes
        var localOffset = UInt64(try r.u32())
        let nameBytes = try r.slice(nameLength)
        let extra = try r.slice(extraLength)
        _ = try r.slice(commentLength)

        guard let name = String(validating: nameBytes, as: UTF8.self) else {
            throw fail("corrupt zip: entry name at offset \(recordOffset) is not valid UTF-8")
        }
        try Self.applyZip64Extra(extra, &uncompressed, &compressed, &localOffset, name: name)
        guard flags & 1 == 0 else { throw fail("unsupported zip: entry '\(name)' is encrypted") }
        guard method == 0 || method == 8 else {
            throw fail("unsupported zip: entry '\(name)' uses compression method \(method)")
        }
        guard method != 0 || compressed == uncompressed else {
            throw fail("corrupt zip: stored entry '\(name)' has compressed size \(compressed) but uncompressed size \(uncompressed)")
        }
        guard uncompressed <= UInt64(Int.max / 2) else {
            throw fail("corrupt zip: entry '\(name)' declares an impossible size \(uncompressed)")
        }

        // Local header: signature, same name; its own extra length decides
        // where the data starts (PyTorch pads it for alignment).
        let local = Int(clamping: localOffset)
        guard local <= dataLimit, dataLimit - local >= 30,
              file.u32le(local) == Self.localSignature
        else { throw fail("corrupt zip: entry '\(name)' has no valid local header at offset \(localOffset)") }
        let localNameLength = Int(file.u16le(local + 26))
        let localExtraLength = Int(file.u16le(local + 28))
        let dataOffset = local + 30 + localNameLength + localExtraLength
        guard localNameLength == nameLength, dataOffset <= dataLimit,
              memcmpEqual(UnsafeRawBufferPointer(rebasing: file[(local + 30)..<(local + 30 + nameLength)]), nameBytes)
        else { throw fail("corrupt zip: local header of entry '\(name)' does not match the central directory") }
        guard compressed <= UInt64(dataLimit - dataOffset) else {
            throw fail("corrupt zip: entry '\(name)' data (offset \(dataOffset), \(compressed) bytes) runs past the end of the archive data")
        }
        return ZipEntry(
            name: name, method: method, crc32: crc,
            compressedSize: Int(compressed), uncompressedSize: Int(uncompressed), dataOffset: dataOffset
        )
    }

    /// Replaces 0xFFFFFFFF sizes/offsets with their Zip64 extra-field values.
    private static func applyZip64Extra(
        _ extra: UnsafeRawBufferPointer, _ uncompressed: inout UInt64, _ compressed: inout UInt64,
        _ offset: inout UInt64, name: String
    ) throws {
        let needs = [uncompressed, compressed, offset].map { $0 == 0xffff_ffff }
        guard needs.contains(true) else { return }
        var r = ByteReader(extra, what: "zip extra field of '\(name)'")
        while r.remaining >= 4 {
            let id = try r.u16()
            let size = Int(try r.u16())
            var field = ByteReader(try r.slice(size), what: "Zip64 extra field of '\(name)'")
            guard id == 0x0001 else { continue }
            if needs[0] { uncompressed = try field.u64() }
            if needs[1] { compressed = try field.u64() }
            if needs[2] { offset = try field.u64() }
            return
        }
        throw fail("corrupt zip: entry '\(name)' needs a Zip64 extra field but has none")
    }
}

/// Byte-wise equality of two equally long buffers.
private func memcmpEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && a.elementsEqual(b)
}
