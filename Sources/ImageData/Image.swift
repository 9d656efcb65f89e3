/// A decoded 8-bit image.
///
/// Layout: **HWC**, row-major, interleaved: the sample of channel `c` at
/// row `y`, column `x` is `pixels[(y * width + x) * channels + c]`.
/// `channels` is 1 (grey: MNIST, Fashion-MNIST) or 3 (RGB: CIFAR, ImageFolder).
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    /// `height * width * channels` bytes, HWC.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && channels > 0, "bad image dimensions")
        precondition(pixels.count == width * height * channels,
                     "pixel count \(pixels.count) != \(height)x\(width)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An all-zero (black) image.
    public init(width: Int, height: Int, channels: Int) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: 0, count: width * height * channels))
    }

    /// Reads one sample (no bounds check beyond the array's).
    @inlinable
    public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        pixels[(y * width + x) * channels + c]
    }
}

/// A float image ready for a network: **CHW** layout, shape
/// `[channels, height, width]`, values as produced by ToTensor (/255) and
/// optionally Normalize.
public struct TensorImage: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// `channels * height * width` floats, CHW.
    public var data: [Float]

    public init(channels: Int, height: Int, width: Int, data: [Float]) {
        precondition(data.count == channels * height * width, "tensor size mismatch")
        self.channels = channels
        self.height = height
        self.width = width
        self.data = data
    }

    /// `[channels, height, width]`.
    public var shape: [Int] { [channels, height, width] }
}
