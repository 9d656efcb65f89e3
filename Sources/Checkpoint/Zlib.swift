import CZlib

/// Thin, bounds-checked wrappers over the system zlib: CRC-32 and raw
/// DEFLATE decompression for zip entries.
enum Zlib {
    /// CRC-32 (the zip / gzip polynomial) of `bytes`.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
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

    /// Inflates raw DEFLATE `input` that must produce exactly
    /// `expectedSize` bytes. The output buffer grows with the data actually
    /// produced (never beyond `expectedSize`), so a lying size field cannot
    /// force a large allocation up front.
    static func inflate(_ input: UnsafeRawBufferPointer, expectedSize: Int, name: String) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("cannot initialise zlib to inflate zip entry '\(name)'")
        }
        defer { inflateEnd(&stream) }

        // One byte of headroom detects streams longer than declared.
        let capacity = expectedSize + 1
        var output = [UInt8](repeating: 0, count: min(capacity, max(input.count * 4, 1 << 16)))
        var produced = 0
        var consumed = 0
        inflating: while true {
            if produced == output.count {
                guard output.count < capacity else { break inflating }
                output.append(contentsOf: repeatElement(0, count: min(output.count, capacity - output.count)))
            }
            let room = min(output.count - produced, Int(UInt32.max))
            let status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress!.advanced(by: produced)
                stream.avail_out = uInt(room)
                return step(&stream, input, &consumed)
            }
            produced += room - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END: break inflating
            case Z_OK: continue
            case Z_BUF_ERROR where stream.avail_out == 0: continue
            case Z_BUF_ERROR: throw fail("corrupt zip: entry '\(name)' deflate data ends early")
            default: throw fail("corrupt zip: entry '\(name)' has invalid deflate data (zlib error \(status))")
            }
        }
        guard produced == expectedSize else {
            if produced > expectedSize {
                throw fail("corrupt zip: entry '\(name)' inflates to more than its declared \(expectedSize) bytes")
            }
            throw fail("corrupt zip: entry '\(name)' inflates to \(produced) bytes, expected \(expectedSize)")
        }
        output.removeLast(output.count - produced)
        return output
    }

    /// Feeds the next chunk of input (at most 1 GiB at a time) and runs
    /// one `inflate` call.
    private static func step(_ stream: inout z_stream, _ input: UnsafeRawBufferPointer, _ consumed: inout Int) -> Int32 {
        if stream.avail_in == 0 && consumed < input.count {
            let chunk = min(input.count - consumed, 1 << 30)
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(chunk)
            consumed += chunk
        }
        return CZlib.inflate(&stream, Z_NO_FLUSH)
    }
}
