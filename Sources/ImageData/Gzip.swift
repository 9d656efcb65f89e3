import CZlib

/// gzip / zlib decompression through the system zlib (inflate with
/// automatic header detection). Concatenated gzip members are all inflated.
enum Gzip {
    enum Failure: Error { case corrupt(String) }

    static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        if input.isEmpty { return [] }
        var output = [UInt8]()
        output.reserveCapacity(max(input.count * 4, 1 << 16))
        var stream = z_stream()
        guard czlib_inflate_init_auto(&stream) == Z_OK else { throw Failure.corrupt("inflateInit failed") }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 18
        var buffer = [UInt8](repeating: 0, count: chunk)
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress!)
            stream.avail_in = uInt(inBuf.count)
            while true {
                let status: Int32 = buffer.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                output.append(contentsOf: buffer[0..<produced])
                switch status {
                case Z_STREAM_END:
                    // Another gzip member may follow (skip trailing zero padding).
                    if stream.avail_in == 0 { return }
                    let rest = UnsafeBufferPointer(start: stream.next_in, count: Int(stream.avail_in))
                    if rest.allSatisfy({ $0 == 0 }) { return }
                    guard inflateReset(&stream) == Z_OK else { throw Failure.corrupt("inflateReset failed") }
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 { throw Failure.corrupt("truncated compressed data") }
                    continue
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw Failure.corrupt(message)
                }
            }
        }
        return output
    }
}
