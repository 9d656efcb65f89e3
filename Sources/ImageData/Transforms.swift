import Engine
import Foundation

/// An operation on an 8-bit HWC image. Random transforms draw from the
/// generator they are given, in a fixed order, so a seeded generator
/// reproduces the same output. Semantics follow torchvision 0.14 on PIL
/// images; resizing is Pillow's antialiased bilinear (`Resample`).
public protocol ImageTransform: Sendable {
    func apply(_ image: Image, using rng: inout SeededGenerator) -> Image
}

/// Python's `round()` (half to even), which torchvision uses for crop sizes.
@inline(__always)
func pyRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

/// `RandomResizedCrop(size, scale, ratio)`: up to ten tries of an area
/// fraction uniform in `scale` and an aspect ratio log-uniform in `ratio`,
/// the first crop that fits wins (top then left drawn uniformly); else a
/// centred crop clamped to `ratio`. The crop is resized to `height × width`.
/// Draw order per try: area, log-ratio; then on success top, left.
public struct RandomResizedCrop: ImageTransform {
    public var height: Int
    public var width: Int
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double>

    public init(size: Int, scale: ClosedRange<Double> = 0.08...1.0,
                ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        self.init(height: size, width: size, scale: scale, ratio: ratio)
    }

    public init(height: Int, width: Int, scale: ClosedRange<Double> = 0.08...1.0,
                ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        precondition(height > 0 && width > 0, "RandomResizedCrop size must be positive")
        self.height = height
        self.width = width
        self.scale = scale
        self.ratio = ratio
    }

    /// The crop box `(top, left, height, width)` torchvision's `get_params` would choose.
    public func parameters(imageWidth: Int, imageHeight: Int,
                           using rng: inout SeededGenerator) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(imageWidth * imageHeight)
        let logLo = log(ratio.lowerBound), logHi = log(ratio.upperBound)
        for _ in 0..<10 {
            let target = area * rng.nextDouble(from: scale.lowerBound, to: scale.upperBound)
            let aspect = exp(rng.nextDouble(from: logLo, to: logHi))
            let w = pyRound((target * aspect).squareRoot())
            let h = pyRound((target / aspect).squareRoot())
            if w > 0 && w <= imageWidth && h > 0 && h <= imageHeight {
                let top = rng.nextInt(below: imageHeight - h + 1)
                let left = rng.nextInt(below: imageWidth - w + 1)
                return (top, left, h, w)
            }
        }
        let inRatio = Double(imageWidth) / Double(imageHeight)
        var w = imageWidth, h = imageHeight
        if inRatio < ratio.lowerBound {
            h = pyRound(Double(w) / ratio.lowerBound)
        } else if inRatio > ratio.upperBound {
            w = pyRound(Double(h) * ratio.upperBound)
        }
        return ((imageHeight - h) / 2, (imageWidth - w) / 2, h, w)
    }

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image {
        let p = parameters(imageWidth: image.width, imageHeight: image.height, using: &rng)
        return Resample.resize(image, left: p.left, top: p.top, cropWidth: p.width, cropHeight: p.height,
                               width: width, height: height)
    }
}

/// `RandomHorizontalFlip(p)`: one draw `u` in [0,1); flips when `u < p`.
public struct RandomHorizontalFlip: ImageTransform {
    public var probability: Float

    public init(probability: Float = 0.5) { self.probability = probability }

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image {
        guard rng.nextFloat() < probability else { return image }
        return HorizontalFlip.flip(image)
    }
}

/// Deterministic mirror (left ↔ right).
public struct HorizontalFlip: ImageTransform {
    public init() {}

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image { HorizontalFlip.flip(image) }

    static func flip(_ image: Image) -> Image {
        var out = image
        let c = image.channels, w = image.width
        image.pixels.withUnsafeBufferPointer { s in
            out.pixels.withUnsafeMutableBufferPointer { d in
                for y in 0..<image.height {
                    let row = y * w * c
                    if c == 3 {
                        for x in 0..<w {
                            let from = row + (w - 1 - x) * 3, to = row + x * 3
                            d[to] = s[from]
                            d[to + 1] = s[from + 1]
                            d[to + 2] = s[from + 2]
                        }
                    } else {
                        for x in 0..<w {
                            let from = row + (w - 1 - x) * c, to = row + x * c
                            for ch in 0..<c { d[to + ch] = s[from + ch] }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// `Resize`: `.shorterSide(n)` scales so the shorter side is `n` and the
/// longer one `int(n * long / short)` (torchvision's truncation);
/// `.exact(height:width:)` resizes to that size. Unchanged sizes are a no-op.
public struct Resize: ImageTransform {
    public enum Size: Sendable, Equatable {
        case shorterSide(Int)
        case exact(height: Int, width: Int)
    }

    public var size: Size

    public init(_ size: Size) { self.size = size }
    public init(shorterSide: Int) { self.size = .shorterSide(shorterSide) }

    /// Output `(height, width)` for an input size.
    public func outputSize(width: Int, height: Int) -> (height: Int, width: Int) {
        switch size {
        case .exact(let h, let w):
            return (h, w)
        case .shorterSide(let n):
            let short = min(width, height), long = max(width, height)
            let newLong = Int(Double(n) * Double(long) / Double(short))
            return width <= height ? (newLong, n) : (n, newLong)
        }
    }

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image {
        let (h, w) = outputSize(width: image.width, height: image.height)
        if h == image.height && w == image.width { return image }
        return Resample.resize(image, width: w, height: h)
    }
}

/// `CenterCrop(height, width)`: top = round((H - h) / 2), left likewise
/// (Python rounding); an image smaller than the crop is first zero-padded
/// as torchvision does (left/top get the floor half).
public struct CenterCrop: ImageTransform {
    public var height: Int
    public var width: Int

    public init(size: Int) { self.init(height: size, width: size) }
    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "CenterCrop size must be positive")
        self.height = height
        self.width = width
    }

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image {
        var img = image
        if width > img.width || height > img.height {
            let padLeft = width > img.width ? (width - img.width) / 2 : 0
            let padTop = height > img.height ? (height - img.height) / 2 : 0
            let padRight = width > img.width ? (width - img.width + 1) / 2 : 0
            let padBottom = height > img.height ? (height - img.height + 1) / 2 : 0
            img = Padding.pad(img, left: padLeft, top: padTop, right: padRight, bottom: padBottom)
            if img.width == width && img.height == height { return img }
        }
        let top = pyRound(Double(img.height - height) / 2.0)
        let left = pyRound(Double(img.width - width) / 2.0)
        return Resample.crop(img, left: left, top: top, width: width, height: height)
    }
}

/// `RandomCrop(size, padding)`: zero-pads every side by `padding`, then
/// crops `height × width` at top, left drawn uniformly (top first). An
/// image still smaller than the crop is padded to fit first
/// (`pad_if_needed`), so every output has the requested size.
public struct RandomCrop: ImageTransform {
    public var height: Int
    public var width: Int
    public var padding: Int

    public init(size: Int, padding: Int = 0) { self.init(height: size, width: size, padding: padding) }
    public init(height: Int, width: Int, padding: Int = 0) {
        precondition(height > 0 && width > 0 && padding >= 0, "bad RandomCrop parameters")
        self.height = height
        self.width = width
        self.padding = padding
    }

    public func apply(_ image: Image, using rng: inout SeededGenerator) -> Image {
        var img = padding > 0
            ? Padding.pad(image, left: padding, top: padding, right: padding, bottom: padding)
            : image
        if img.width < width || img.height < height {
            let dw = max(0, width - img.width), dh = max(0, height - img.height)
            img = Padding.pad(img, left: dw, top: dh, right: dw, bottom: dh)
        }
        if img.width == width && img.height == height { return img }
        let top = rng.nextInt(below: img.height - height + 1)
        let left = rng.nextInt(below: img.width - width + 1)
        return Resample.crop(img, left: left, top: top, width: width, height: height)
    }
}

/// Constant-zero padding.
enum Padding {
    static func pad(_ image: Image, left: Int, top: Int, right: Int, bottom: Int) -> Image {
        let c = image.channels
        let w = image.width + left + right, h = image.height + top + bottom
        var out = Image(width: w, height: h, channels: c)
        image.pixels.withUnsafeBufferPointer { s in
            out.pixels.withUnsafeMutableBufferPointer { d in
                for y in 0..<image.height {
                    let src = y * image.width * c
                    let dst = ((y + top) * w + left) * c
                    for i in 0..<(image.width * c) { d[dst + i] = s[src + i] }
                }
            }
        }
        return out
    }
}
