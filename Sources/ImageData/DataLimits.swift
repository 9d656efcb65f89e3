/// The largest inputs the data readers accept (README, "Limits"). Beyond them a reader throws
/// ``DataError/tooLarge(path:what:found:limit:)`` (or, for images, a decode error) naming the file,
/// what it holds or declares and the limit, before allocating for it.
public enum DataLimits {
    /// Bytes of data one IDX file may declare (the product of its header's dimensions; a
    /// gzip file is refused from its header, before the rest is inflated): 1 GiB. EMNIST
    /// ByClass, the largest common IDX set, declares 547 MB.
    public static let idxDataBytes = 1 << 30
    /// One CIFAR batch file: 1 GiB (CIFAR-100's `train.bin` is 154 MB).
    public static let cifarFileBytes = 1 << 30
    /// One JPEG or PNG file, before decoding: 256 MiB.
    public static let imageFileBytes = 256 << 20
    /// Pixels of one image (width × height), refused from its header before decoding:
    /// 2^26 = 8192 × 8192 (192 MiB as RGB).
    public static let imagePixels = 1 << 26
    /// The longest side of an image over its shortest: 64. Resizing the shorter side to the
    /// model's input (torchvision's `Resize(n)`) multiplies the longer one by as much, so a
    /// 60000×1 strip would become gigabytes; no photograph is that narrow.
    public static let imageAspectRatio = 64
    /// One sample-list file: 64 MiB.
    public static let sampleListBytes = 64 << 20
    /// The largest expansion DEFLATE can achieve (about 1032:1), with slack: a gzip file that
    /// declares more inflated bytes than this many times its own size is corrupt.
    static let deflateMaxRatio = 1100
}
