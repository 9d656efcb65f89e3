/// A bounds-checked little-endian cursor over borrowed bytes.
///
/// Every read checks the remaining length first and throws instead of
/// trapping, so hostile length fields can never read past the end or cause
/// an allocation larger than the input.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    /// Describes the data in error messages, e.g. "pickle" or "zip".
    let what: String

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, what: String) {
        self.bytes = bytes
        self.offset = offset
        self.what = what
    }

    var remaining: Int { bytes.count - offset }
    var atEnd: Bool { offset >= bytes.count }

    /// Throws unless `count` more bytes are available.
    func need(_ count: Int) throws {
        guard count >= 0, count <= remaining else {
            throw fail("truncated \(what): needs \(count) bytes at offset \(offset) but only \(max(remaining, 0)) remain")
        }
    }

    mutating func u8() throws -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func u32() throws -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64() throws -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Returns the next `count` bytes as a borrowed slice (no copy).
    mutating func slice(_ count: Int) throws -> UnsafeRawBufferPointer {
        try need(count)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// Reads a u32 length field and checks it against the remaining bytes.
    mutating func length32() throws -> Int {
        let value = try u32()
        return try length(value)
    }

    /// Reads a u64 length field and checks it against the remaining bytes.
    mutating func length64() throws -> Int {
        let value = try u64()
        return try length(value)
    }

    /// Converts an untrusted unsigned length to `Int`, checking it fits in
    /// the remaining bytes before anything is allocated for it.
    func length<T: UnsignedInteger>(_ value: T) throws -> Int {
        guard value <= UInt64(Int.max), Int(value) <= remaining else {
            throw fail("truncated \(what): length \(value) at offset \(offset) exceeds the \(max(remaining, 0)) remaining bytes")
        }
        return Int(value)
    }
}

extension UnsafeRawBufferPointer {
    // Little-endian loads at a byte offset; the caller guarantees bounds.
    // Concrete (non-generic) so they always inline into hot loops.

    @inline(__always)
    func u16le(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func u32le(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func u64le(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
