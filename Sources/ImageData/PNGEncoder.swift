import CPNG
import Foundation

/// Writes 8-bit grey or RGB images as PNG (libpng), the format ``ImageDecoder`` reads back.
public enum PNGEncoder {
    /// The PNG bytes of `image` (1 or 3 channels).
    public static func encode(_ image: Image) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { px in
            message.withUnsafeMutableBufferPointer { msg in
                cpng_encode(px.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels), &out, &size, msg.baseAddress, msg.count)
            }
        }
        guard status == 0, let bytes = out else {
            message[message.count - 1] = 0
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw DataError.invalidArgument("PNG encoding failed: \(reason)")
        }
        defer { cpng_free(bytes) }
        return [UInt8](UnsafeBufferPointer(start: bytes, count: size))
    }
}
