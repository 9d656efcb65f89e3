import Foundation

/// Softmax cross-entropy averaged over the batch, with optional label smoothing ε (PyTorch's
/// rule: target distribution `(1−ε)·onehot + ε/K`).
///
/// - Parameters:
///   - logits: `[N, K]`
///   - targets: `N` class indices in `0..<K`
/// - Returns: scalar `[]`
public func crossEntropy(_ logits: Tensor, targets: [Int], labelSmoothing: Float = 0) -> Tensor {
    checkShape(logits.rank == 2 && logits.shape[0] == targets.count,
               "crossEntropy: logits \(logits.shape) do not match \(targets.count) targets")
    let n = logits.shape[0], k = logits.shape[1]
    let probs = softmaxRows(logits.pointer, n: n, k: k, temperature: 1)
    var loss: Double = 0
    for r in 0..<n {
        let t = targets[r]
        checkShape(t >= 0 && t < k, "crossEntropy: target \(t) at row \(r) outside 0..<\(k)")
        let p = probs.pointer + r * k
        let nll = -Double(log(max(p[t], Float.leastNormalMagnitude)))
        var meanNeg: Double = 0
        if labelSmoothing > 0 {
            for j in 0..<k { meanNeg -= Double(log(max(p[j], Float.leastNormalMagnitude))) }
            meanNeg /= Double(k)
        }
        loss += Double(1 - labelSmoothing) * nll + Double(labelSmoothing) * meanNeg
    }
    let out = Tensor(scalar: Float(loss / Double(n)))
    return Autograd.record(out, inputs: [logits]) { gy, _ in
        let dx = probs.copy()
        let scale = gy.item / Float(n)
        for r in 0..<n {
            let d = dx.pointer + r * k
            for j in 0..<k { d[j] -= labelSmoothing / Float(k) }
            d[targets[r]] -= 1 - labelSmoothing
            Vector.scale(d, scale, count: k)
        }
        return [dx]
    }
}

/// Mean squared error `mean((a − b)²)` over all elements. → scalar `[]`.
public func mseLoss(_ a: Tensor, _ b: Tensor) -> Tensor {
    checkSameShape(a.shape, b.shape, "mseLoss")
    let count = a.count
    var acc: Double = 0
    let ap = a.pointer, bp = b.pointer
    var i = 0
    while i < count {
        let end = min(i + 4096, count)
        var part: Float = 0
        for j in i..<end { let d = ap[j] - bp[j]; part += d * d }
        acc += Double(part)
        i = end
    }
    let out = Tensor(scalar: Float(acc / Double(count)))
    return Autograd.record(out, inputs: [a, b]) { gy, needs in
        // Take the pointers here so the closure holds `a` and `b` alive: in an optimised build a
        // caller's target tensor may otherwise be released right after the forward call.
        let ap = a.pointer, bp = b.pointer
        let scale = 2 * gy.item / Float(count)
        let da = Tensor(uninitialized: a.shape)
        let dp = da.pointer
        Parallel.chunks(count, minChunk: 65536) { r in for j in r { dp[j] = scale * (ap[j] - bp[j]) } }
        var db: Tensor? = nil
        if needs[1] {
            let t = da.copy()
            Vector.scale(t.pointer, -1, count: count)
            db = t
        }
        return [needs[0] ? da : nil, db]
    }
}

/// Knowledge-distillation loss: `T² · KL(softmax(teacher/T) ‖ softmax(student/T))`, averaged over
/// the batch (PyTorch's `kl_div(log_softmax(s/T), softmax(t/T), reduction="batchmean") · T²`).
/// The teacher's logits are constants: only the student receives a gradient.
///
/// - Parameters:
///   - student, teacher: `[N, K]`
/// - Returns: scalar `[]`
public func klDivergence(student: Tensor, teacher: Tensor, temperature: Float) -> Tensor {
    checkSameShape(student.shape, teacher.shape, "klDivergence")
    checkShape(student.rank == 2, "klDivergence: logits must be [N, K], got \(student.shape)")
    let n = student.shape[0], k = student.shape[1]
    let ps = softmaxRows(student.pointer, n: n, k: k, temperature: temperature)
    let pt = softmaxRows(teacher.pointer, n: n, k: k, temperature: temperature)
    var kl: Double = 0
    for i in 0..<(n * k) {
        let t = pt.pointer[i]
        if t > 0 { kl += Double(t) * (log(Double(t)) - log(max(Double(ps.pointer[i]), 1e-300))) }
    }
    let t2 = temperature * temperature
    let out = Tensor(scalar: Float(kl / Double(n)) * t2)
    return Autograd.record(out, inputs: [student]) { gy, _ in
        // d/ds = T²/N · (p_s − p_t)/T
        let dx = Tensor(uninitialized: student.shape)
        let scale = gy.item * temperature / Float(n)
        for i in 0..<(n * k) { dx.pointer[i] = scale * (ps.pointer[i] - pt.pointer[i]) }
        return [dx]
    }
}

/// Row-wise softmax of `x/temperature`, `x` `[n, k]`, as a new tensor.
public func softmaxRows(_ x: UnsafePointer<Float>, n: Int, k: Int, temperature: Float) -> Tensor {
    let out = Tensor(uninitialized: [n, k])
    for r in 0..<n {
        let s = x + r * k, d = out.pointer + r * k
        var m = -Float.infinity
        for j in 0..<k { m = max(m, s[j] / temperature) }
        var z: Float = 0
        for j in 0..<k { let e = exp(s[j] / temperature - m); d[j] = e; z += e }
        Vector.scale(d, 1 / z, count: k)
    }
    return out
}
