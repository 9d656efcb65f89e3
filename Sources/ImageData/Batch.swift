/// One mini-batch, independent of any tensor library.
public struct Batch: Sendable, Equatable {
    /// `shape.reduce(1, *)` floats, layout `[N, C, H, W]` (NCHW, row-major).
    public var images: [Float]
    /// `[N, C, H, W]`.
    public var shape: [Int]
    /// `N` labels, in `0..<classCount`.
    public var labels: [Int]
    /// `N` dataset indices the samples came from.
    public var indices: [Int]

    public init(images: [Float], shape: [Int], labels: [Int], indices: [Int]) {
        precondition(shape.count == 4 && images.count == shape.reduce(1, *) && labels.count == shape[0],
                     "inconsistent batch")
        self.images = images
        self.shape = shape
        self.labels = labels
        self.indices = indices
    }

    /// N.
    public var count: Int { labels.count }
}
