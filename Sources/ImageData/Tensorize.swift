/// `ToTensor`: HWC UInt8 → CHW Float in [0, 1] (`value / 255`).
public enum ToTensor {
    public static func apply(_ image: Image) -> TensorImage {
        let c = image.channels, h = image.height, w = image.width, plane = h * w
        var data = [Float](repeating: 0, count: c * plane)
        image.pixels.withUnsafeBufferPointer { s in
            data.withUnsafeMutableBufferPointer { d in
                for p in 0..<plane {
                    for ch in 0..<c {
                        d[ch * plane + p] = Float(s[p * c + ch]) / 255
                    }
                }
            }
        }
        return TensorImage(channels: c, height: h, width: w, data: data)
    }
}

/// `Normalize(mean, std)`: `(x - mean[c]) / std[c]` on a CHW tensor.
public enum Normalize {
    /// Throws when the normalisation's channel count fits neither the
    /// tensor's channels nor 1 (broadcast).
    public static func apply(_ tensor: inout TensorImage, _ normalization: Normalization) throws {
        guard let (mean, std) = normalization.perChannel(tensor.channels) else {
            throw DataError.invalidArgument(
                "normalisation has \(normalization.mean.count) channels, image has \(tensor.channels)")
        }
        let plane = tensor.height * tensor.width
        tensor.data.withUnsafeMutableBufferPointer { d in
            for ch in 0..<tensor.channels {
                let m = mean[ch], s = std[ch]
                for i in (ch * plane)..<((ch + 1) * plane) { d[i] = (d[i] - m) / s }
            }
        }
    }
}

/// ToTensor and Normalize in one pass: HWC UInt8 → normalised CHW Float.
/// Bit-identical to applying the two in turn: each channel uses a 256-entry
/// table of `(Float(v) / 255 - mean) / std`, computed in the same order.
enum TensorizeNormalize {
    static func apply(_ image: Image, _ normalization: Normalization) throws -> TensorImage {
        let c = image.channels, plane = image.height * image.width
        guard let (mean, std) = normalization.perChannel(c) else {
            throw DataError.invalidArgument(
                "normalisation has \(normalization.mean.count) channels, image has \(c)")
        }
        var table = [Float](repeating: 0, count: 256 * c)
        for ch in 0..<c {
            for v in 0..<256 { table[ch * 256 + v] = (Float(v) / 255 - mean[ch]) / std[ch] }
        }
        var data = [Float](repeating: 0, count: c * plane)
        image.pixels.withUnsafeBufferPointer { s in
            data.withUnsafeMutableBufferPointer { d in
                table.withUnsafeBufferPointer { t in
                    for ch in 0..<c {
                        let base = ch * plane
                        let lut = t.baseAddress! + ch * 256
                        for p in 0..<plane {
                            d[base + p] = lut[Int(s[p * c + ch])]
                        }
                    }
                }
            }
        }
        return TensorImage(channels: c, height: image.height, width: image.width, data: data)
    }
}
