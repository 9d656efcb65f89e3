import CJPEG
import CPNG
import Foundation

/// JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit RGB.
///
/// The format is decided by the file's first bytes, never by its name, so a
/// PNG saved as `x.JPEG` decodes. Every output has `channels == 3`, matching
/// torchvision's ImageFolder loader (`PIL.Image.open(f).convert("RGB")`):
/// grey is replicated, CMYK/YCCK converted as Pillow does, alpha dropped,
/// palettes expanded, 16-bit reduced to the high byte.
public enum ImageDecoder {
    public enum Format: Sendable { case jpeg, png }

    /// The format the leading bytes announce, or nil.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> Format? {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 8 && (0..<8).allSatisfy({ bytes[$0] == png[$0] }) { return .png }
        return nil
    }

    /// Decodes the file at `path`. Errors name `path`.
    public static func decode(path: String) throws -> Image {
        let bytes = try FileIO.read(path, limit: DataLimits.imageFileBytes, what: "image file")
        return try decode(bytes, name: path)
    }

    /// Decodes an in-memory JPEG or PNG; `name` is used in error messages. Images of more than
    /// ``DataLimits/imagePixels`` pixels are refused from their header, and images narrower than
    /// ``DataLimits/imageAspectRatio`` (one side more than 64 times the other) once decoded.
    public static func decode(_ bytes: [UInt8], name: String) throws -> Image {
        try bytes.withUnsafeBytes { raw in
            guard !raw.isEmpty else { throw DataError.undecodableImage(path: name, reason: "empty file") }
            guard let format = sniff(raw) else { throw DataError.unsupportedImageFormat(path: name) }
            var out: UnsafeMutablePointer<UInt8>? = nil
            var width: Int32 = 0
            var height: Int32 = 0
            var message = [CChar](repeating: 0, count: 256)
            let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let status: Int32 = message.withUnsafeMutableBufferPointer { msg in
                switch format {
                case .jpeg:
                    return cjpeg_decode_rgb(base, raw.count, DataLimits.imagePixels, &out, &width, &height, msg.baseAddress, msg.count)
                case .png:
                    return cpng_decode_rgb(base, raw.count, DataLimits.imagePixels, &out, &width, &height, msg.baseAddress, msg.count)
                }
            }
            guard status == 0, let pixels = out else {
                message[message.count - 1] = 0
                let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                let kind = format == .jpeg ? "JPEG" : "PNG"
                throw DataError.undecodableImage(path: name, reason: "\(kind): \(reason.isEmpty ? "decoder error" : reason)")
            }
            defer { free(pixels) }
            let w = Int(width), h = Int(height)
            guard max(w, h) <= DataLimits.imageAspectRatio * min(w, h) else {
                throw DataError.undecodableImage(path: name, reason: "\(w)×\(h) pixels: one side is more than \(DataLimits.imageAspectRatio) times the other, which resizing to a model's input would blow up to gigabytes; crop it first")
            }
            let copy = [UInt8](UnsafeBufferPointer(start: pixels, count: w * h * 3))
            return Image(width: w, height: h, channels: 3, pixels: copy)
        }
    }
}
