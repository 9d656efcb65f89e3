import CZlib

/// The project's one wrapper over the system zlib: CRC-32 and bounded inflation, used by the
/// zip checkpoint reader (raw DEFLATE entries) and the IDX reader (gzip files).
///
/// Inflation never allocates ahead of the data: the output buffer grows with the bytes actually
/// produced and stops one byte past `limit`, so a lying size field or a decompression bomb
/// cannot force a large allocation.
public enum Zlib {
    /// How the compressed bytes are framed.
    public enum Framing: Sendable {
        /// Headerless DEFLATE (zip entries); one stream, bytes after its end are ignored.
        case rawDeflate
        /// A gzip or zlib header, detected automatically; concatenated gzip members are all
        /// inflated, trailing zero padding is ignored.
        case gzipOrZlib
    }

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// The data is not valid for the framing (zlib's message).
        case corrupt(String)
        /// The input ends before the compressed stream does.
        case truncated
        /// The stream inflates to more than the limit given (in bytes).
        case exceedsLimit(Int)

        public var description: String {
            switch self {
            case .corrupt(let message): return "invalid compressed data (\(message))"
            case .truncated: return "truncated compressed data"
            case .exceedsLimit(let limit): return "inflates to more than \(limit) bytes"
            }
        }
    }

    /// CRC-32 (the zip / gzip polynomial) of `bytes`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CZlib.crc32(0, nil, 0)
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            let base = bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self)
            crc = CZlib.crc32(crc, base, uInt(chunk))
            offset += chunk
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// All of `input`, inflated. Throws ``Failure/exceedsLimit(_:)`` as soon as the output
    /// passes `limit` bytes (memory used: at most `limit + 1` bytes of output).
    public static func inflate(_ input: UnsafeRawBufferPointer, framing: Framing, limit: Int) throws(Failure) -> [UInt8] {
        try run(input, framing: framing, limit: limit, prefixOnly: false)
    }

    /// The first `count` inflated bytes of `input` (fewer when the stream is shorter), inflating
    /// no further: how a header is read before deciding whether the rest may be inflated.
    public static func inflatePrefix(_ input: UnsafeRawBufferPointer, framing: Framing, count: Int) throws(Failure) -> [UInt8] {
        try run(input, framing: framing, limit: count, prefixOnly: true)
    }

    private static func run(_ input: UnsafeRawBufferPointer, framing: Framing, limit: Int, prefixOnly: Bool) throws(Failure) -> [UInt8] {
        precondition(limit >= 0 && limit < Int.max, "inflate limit out of range")
        if input.isEmpty {
            if framing == .gzipOrZlib { return [] }
            throw .truncated
        }
        var stream = z_stream()
        let initialised = framing == .rawDeflate
            ? inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            : czlib_inflate_init_auto(&stream)
        guard initialised == Z_OK else { throw .corrupt("cannot initialise zlib") }
        defer { inflateEnd(&stream) }

        // One byte past the limit detects a stream longer than allowed.
        let capacity = prefixOnly ? limit : limit + 1
        var output = [UInt8](repeating: 0, count: min(capacity, max(input.count * 4, 1 << 16)))
        var produced = 0
        var consumed = 0
        inflating: while true {
            if produced == output.count {
                if output.count >= capacity {
                    if prefixOnly { break inflating }
                    throw .exceedsLimit(limit)
                }
                output.append(contentsOf: repeatElement(0, count: min(output.count, capacity - output.count)))
            }
            if stream.avail_in == 0 && consumed < input.count {
                // At most 1 GiB at a time: avail_in is 32-bit.
                let chunk = min(input.count - consumed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(chunk)
                consumed += chunk
            }
            let room = min(output.count - produced, Int(UInt32.max))
            let status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress!.advanced(by: produced)
                stream.avail_out = uInt(room)
                return CZlib.inflate(&stream, Z_NO_FLUSH)
            }
            produced += room - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                guard framing == .gzipOrZlib else { break inflating }
                // Another gzip member may follow (trailing zero padding is not one).
                let rest = UnsafeRawBufferPointer(start: stream.next_in, count: Int(stream.avail_in))
                if rest.allSatisfy({ $0 == 0 }) && input[consumed...].allSatisfy({ $0 == 0 }) { break inflating }
                guard inflateReset(&stream) == Z_OK else { throw .corrupt("inflateReset failed") }
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.avail_out == 0 { continue }
                if stream.avail_in == 0 && consumed == input.count { throw .truncated }
                continue
            default:
                throw .corrupt(stream.msg.map { String(cString: $0) } ?? "zlib error \(status)")
            }
        }
        output.removeLast(output.count - produced)
        return output
    }
}
