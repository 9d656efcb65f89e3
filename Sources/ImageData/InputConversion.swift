import Engine

/// Converts images of one source to the input a network expects.
///
/// The rule, applied to 8-bit HWC images before the usual transforms:
/// 1. **Channels**: grey → RGB repeats the grey value in the three channels; RGB → grey is the
///    ITU-R 601 luma Pillow's `convert("L")` computes, `(19595·R + 38470·G + 7471·B + 2¹⁵) >> 16`.
/// 2. **Size**: unless the image already has the target size, resize (Pillow's antialiased
///    bilinear) so the shorter side equals the target's shorter side, then centre-crop to the
///    target height × width (torchvision's `Resize(n)` + `CenterCrop(h, w)`).
/// 3. **Normalisation** is not part of it: the caller uses the network's (its weights'
///    metadata, else its evaluation data's default).
public struct InputConversion: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        precondition(channels == 1 || channels == 3, "InputConversion: 1 or 3 channels, got \(channels)")
        self.channels = channels; self.height = height; self.width = width
    }

    /// The steps of the rule, to put in front of a ``TransformPipeline``'s own.
    public var steps: [any ImageTransform] {
        [ConvertChannels(channels: channels), ResizeAndCenterCrop(height: height, width: width)]
    }

    /// `pipeline` with the rule's steps in front.
    public func prepended(to pipeline: TransformPipeline) -> TransformPipeline {
        TransformPipeline(steps + pipeline.steps, normalization: pipeline.normalization)
    }

    public var description: String { "\(channels == 1 ? "grey" : "RGB") \(height)x\(width)" }
}

/// Grey ↔ RGB by the rule of ``InputConversion``; a no-op when the image already has `channels`.
public struct ConvertChannels: ImageTransform {
    public var channels: Int
    public init(channels: Int) { self.channels = channels }

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image {
        if image.channels == channels { return image }
        let n = image.width * image.height
        var out = [UInt8](repeating: 0, count: n * channels)
        let src = image.pixels
        if channels == 1 {
            for i in 0..<n {
                let r = UInt32(src[i * image.channels]), g = UInt32(src[i * image.channels + 1]), b = UInt32(src[i * image.channels + 2])
                out[i] = UInt8((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16)
            }
        } else {
            for i in 0..<n {
                let v = src[i * image.channels]
                for c in 0..<channels { out[i * channels + c] = v }
            }
        }
        return Image(width: image.width, height: image.height, channels: channels, pixels: out)
    }
}

/// `Resize(min(height, width))` + `CenterCrop(height, width)`; a no-op at the target size.
public struct ResizeAndCenterCrop: ImageTransform {
    public var height: Int
    public var width: Int
    public init(height: Int, width: Int) { self.height = height; self.width = width }

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image {
        if image.height == height && image.width == width { return image }
        let resized = Resize(shorterSide: min(height, width)).apply(image, using: &rng)
        return CenterCrop(height: height, width: width).apply(resized, using: &rng)
    }
}
