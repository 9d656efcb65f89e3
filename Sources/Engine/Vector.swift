import Foundation

/// Element-wise loops over raw buffers, the building blocks of the element-wise ops.
public enum Vector {
    /// `a[i] += b[i]`
    @inline(__always)
    public static func add(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { a[i] += b[i] }
    }

    /// `a[i] += alpha * b[i]`
    @inline(__always)
    public static func axpy(_ a: UnsafeMutablePointer<Float>, _ alpha: Float, _ b: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { a[i] += alpha * b[i] }
    }

    /// `a[i] *= alpha`
    @inline(__always)
    public static func scale(_ a: UnsafeMutablePointer<Float>, _ alpha: Float, count: Int) {
        for i in 0..<count { a[i] *= alpha }
    }

    /// `dst[i] = src[i]` as a plain loop: for the short rows of convolution layouts (7–200 floats)
    /// this beats a `memmove` call.
    @inline(__always)
    public static func copy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = src[i] }
    }

    /// `dst[i] = 0` as a plain loop, for short rows.
    @inline(__always)
    public static func zero(_ dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = 0 }
    }

    /// Sum of all elements, accumulated in Double.
    public static func sum(_ a: UnsafePointer<Float>, count: Int) -> Double {
        var s: Double = 0
        var i = 0
        while i + 8 <= count {
            var p: Float = 0
            for j in 0..<8 { p += a[i + j] }
            s += Double(p)
            i += 8
        }
        while i < count { s += Double(a[i]); i += 1 }
        return s
    }
}

extension Tensor {
    /// A new tensor `self + other` with no tape node (for optimisers and bookkeeping).
    public func plainAdding(_ other: Tensor) -> Tensor {
        checkSameShape(shape, other.shape, "add")
        let out = copy()
        Vector.add(out.pointer, other.pointer, count: count)
        return out
    }

    /// Sum of all elements.
    public var sumValue: Float { Float(Vector.sum(pointer, count: count)) }

    /// Largest absolute element.
    public var maxAbs: Float {
        var m: Float = 0
        for i in 0..<count { m = Swift.max(m, abs(pointer[i])) }
        return m
    }
}
