/// Converts raw little-endian storage bytes of any ``DType`` into `Float`.
///
/// Callers validate bounds first (see ``TensorLayout``); these routines
/// only read element indices they are given.
enum DTypeConversion {
    /// IEEE 754 half → single, exact for every value (NaN payload kept).
    @inline(__always)
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)  // mantissa × 2⁻²⁴
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// bfloat16 is the top half of a Float32.
    @inline(__always)
    static func bfloat16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Element `index` (in elements, not bytes) of `raw` as Float.
    @inline(__always)
    static func element(_ raw: UnsafeRawBufferPointer, _ index: Int, _ dtype: DType) -> Float {
        switch dtype {
        case .f32: return Float(bitPattern: raw.u32le(index &* 4))
        case .f64: return Float(Double(bitPattern: raw.u64le(index &* 8)))
        case .f16: return halfToFloat(raw.u16le(index &* 2))
        case .bf16: return bfloat16ToFloat(raw.u16le(index &* 2))
        case .i64: return Float(Int64(bitPattern: raw.u64le(index &* 8)))
        case .i32: return Float(Int32(bitPattern: raw.u32le(index &* 4)))
        case .i16: return Float(Int16(bitPattern: raw.u16le(index &* 2)))
        case .i8: return Float(Int8(bitPattern: raw[index]))
        case .u8: return Float(raw[index])
        case .bool: return raw[index] == 0 ? 0 : 1
        }
    }

    /// `count` consecutive elements starting at element `start`.
    static func contiguous(_ raw: UnsafeRawBufferPointer, dtype: DType, start: Int, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .f32:
                for i in 0..<count { out[i] = Float(bitPattern: raw.u32le((start + i) * 4)) }
            case .f16:
                for i in 0..<count { out[i] = halfToFloat(raw.u16le((start + i) * 2)) }
            case .bf16:
                for i in 0..<count { out[i] = bfloat16ToFloat(raw.u16le((start + i) * 2)) }
            default:
                for i in 0..<count { out[i] = element(raw, start + i, dtype) }
            }
            initialized = count
        }
    }

    /// Gathers a strided view into a row-major contiguous array.
    ///
    /// Element `(i₀, i₁, …)` is read from storage index
    /// `offset + Σ iₖ·strides[k]`.
    static func strided(
        _ raw: UnsafeRawBufferPointer, dtype: DType, offset: Int, shape: [Int], strides: [Int]
    ) -> [Float] {
        let count = shape.reduce(1, *)
        if count == 0 { return [] }
        if strides == TensorLayout.contiguousStrides(shape) {
            return contiguous(raw, dtype: dtype, start: offset, count: count)
        }
        let rank = shape.count
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            var index = [Int](repeating: 0, count: rank)
            var position = offset
            for k in 0..<count {
                out[k] = element(raw, position, dtype)
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    position += strides[d]
                    if index[d] < shape[d] { break }
                    position -= strides[d] * shape[d]
                    index[d] = 0
                    d -= 1
                }
            }
            initialized = count
        }
    }
}

/// Shape arithmetic with overflow checks, shared by both formats.
enum TensorLayout {
    /// Row-major strides for `shape`.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = running
            running = running &* shape[d]
        }
        return strides
    }

    /// Product of `shape`, or `nil` on negative dimensions or overflow.
    static func elementCount(_ shape: [Int]) -> Int? {
        var total = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// Number of storage elements a view touches: 1 + the largest element
    /// index it reads (0 for an empty view), or `nil` on overflow or
    /// negative strides/offset.
    static func storageExtent(offset: Int, shape: [Int], strides: [Int]) -> Int? {
        guard offset >= 0, shape.count == strides.count else { return nil }
        guard let count = elementCount(shape) else { return nil }
        if count == 0 { return 0 }
        var last = offset
        for (dim, step) in zip(shape, strides) {
            guard step >= 0 else { return nil }
            let (span, o1) = (dim - 1).multipliedReportingOverflow(by: step)
            let (sum, o2) = last.addingReportingOverflow(span)
            if o1 || o2 { return nil }
            last = sum
        }
        let (extent, overflow) = last.addingReportingOverflow(1)
        return overflow ? nil : extent
    }
}
