import CKernels

/// Fully connected layer `y = x·Wᵀ + b`.
///
/// - Parameters:
///   - x: `[N, in]`
///   - weight: `[out, in]`
///   - bias: `[out]` or nil
/// - Returns: `[N, out]`
///
/// Up to ``FewRowsLinear/fewRows`` rows multiply each row of W straight from memory
/// (`pk_rows_times_rows`); more go through the GEMM, which packs W first.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    checkShape(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1],
               "linear: input \(x.shape) does not match weight \(weight.shape) ([out, in])")
    if let bias { checkShape(bias.shape == [weight.shape[0]], "linear: bias \(bias.shape) does not match weight \(weight.shape)") }
    let n = x.shape[0], fin = x.shape[1], fout = weight.shape[0]
    let out = Tensor(uninitialized: [n, fout])
    if n <= FewRowsLinear.fewRows {
        FewRowsLinear.fewRowsProduct(x.pointer, rows: n, weight.pointer, outputs: fout, inputs: fin, out.pointer)
    } else {
        Gemm.parallel(transB: true, m: n, n: fout, k: fin, a: x.pointer, lda: fin, b: weight.pointer, ldb: fin, c: out.pointer, ldc: fout)
    }
    if let bias {
        for r in 0..<n { Vector.add(out.pointer + r * fout, bias.pointer, count: fout) }
    }
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    return Autograd.record(out, inputs: inputs) { gy, needs in
        var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
        if needs[0] {
            let t = Tensor(uninitialized: x.shape)
            Gemm.parallel(m: n, n: fin, k: fout, a: gy.pointer, lda: fout, b: weight.pointer, ldb: fin, c: t.pointer, ldc: fin)
            dx = t
        }
        if needs[1] {
            let t = Tensor(uninitialized: weight.shape)
            Gemm.parallel(transA: true, m: fout, n: fin, k: n, a: gy.pointer, lda: fout, b: x.pointer, ldb: fin, c: t.pointer, ldc: fin)
            dw = t
        }
        if needs.count > 2 && needs[2] {
            let t = Tensor(zeros: [fout])
            for r in 0..<n { Vector.add(t.pointer, gy.pointer + r * fout, count: fout) }
            db = t
        }
        return [dx, dw, db]
    }
}

/// The product `x·Wᵀ` of a linear layer for a few rows of x.
enum FewRowsLinear {
    /// Most rows of x for which ``fewRowsProduct(_:rows:_:outputs:inputs:_:)`` beats the GEMM
    /// (1000 × 1280 weight, one thread: 0.10 against 0.27 ms for one row, 0.21 against 0.30 for
    /// four, slower from eight).
    static let fewRows = 4

    /// `y` `[rows, outputs]` = `x` `[rows, inputs]` · `w` `[outputs, inputs]`ᵀ, each row of `w` read
    /// once for all rows of `x`; outputs split across threads.
    static func fewRowsProduct(_ x: UnsafePointer<Float>, rows: Int, _ w: UnsafePointer<Float>, outputs: Int,
                               inputs: Int, _ y: UnsafeMutablePointer<Float>) {
        let work = { (o: Range<Int>) in
            pk_rows_times_rows(x, inputs, rows, w, inputs, inputs, o.lowerBound, o.upperBound, y, outputs)
        }
        if Threads.count == 1 || outputs * inputs < 262_144 { work(0..<outputs) } else { Parallel.chunks(outputs, work) }
    }
}

/// Inverted dropout: zeroes each element with probability `p` and scales the rest by `1/(1−p)`.
/// Identity when not training or `p == 0`. Draws from `generator`.
public func dropout(_ x: Tensor, p: Float, training: Bool, generator: inout SeededGenerator) -> Tensor {
    guard training, p > 0 else { return x }
    checkShape(p < 1, "dropout: p must be below 1, got \(p)")
    let mask = Tensor(uninitialized: x.shape)
    let keep = 1 / (1 - p)
    for i in 0..<x.count { mask.pointer[i] = generator.nextFloat() < p ? 0 : keep }
    let out = Tensor(uninitialized: x.shape)
    for i in 0..<x.count { out.pointer[i] = x.pointer[i] * mask.pointer[i] }
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = Tensor(uninitialized: mask.shape)
        for i in 0..<mask.count { dx.pointer[i] = gy.pointer[i] * mask.pointer[i] }
        return [dx]
    }
}
