import Foundation

/// An n-dimensional array of `Float32`, row-major (C order) and contiguous.
///
/// Layout conventions follow PyTorch: activations are `[N, C, H, W]`, convolution weights
/// `[O, I/groups, kH, kW]`, linear weights `[out, in]`. A tensor produced by an op while
/// gradient recording is on carries the tape node that made it (see ``Autograd``).
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: Storage
    /// The tape node that produced this tensor, or nil for a constant.
    public internal(set) var node: GradNode?

    /// Wraps existing storage (shared, not copied).
    public init(shape: [Int], storage: Storage) {
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.node = nil
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)))
    }

    /// A tensor whose contents the caller will overwrite entirely.
    public init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: false))
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        storage.pointer.update(repeating: value, count: count)
    }

    /// A tensor holding a copy of `values`.
    public init(_ values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *),
                     "\(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A scalar (shape `[]`).
    public init(scalar: Float) { self.init([scalar], shape: []) }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var array: [Float] { Array(storage.buffer) }
    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs one element, shape is \(shape)")
        return storage.pointer[0]
    }

    /// A deep copy detached from the tape.
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    /// The same data without a tape node: gradients do not flow through the result.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Same storage viewed with another shape of equal element count (no tape node).
    public func viewed(as newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = array.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape)) [\(head)\(count > 8 ? ", …" : "")]"
    }
}

/// Fails with a message naming both shapes when they differ.
@inline(__always)
public func checkSameShape(_ a: [Int], _ b: [Int], _ op: @autoclosure () -> String) {
    if a != b { fatalError("\(op()): shape mismatch \(a) vs \(b)") }
}

/// Fails with a message naming the op, the expected form and the shape found.
@inline(__always)
public func checkShape(_ ok: Bool, _ message: @autoclosure () -> String) {
    if !ok { fatalError(message()) }
}
