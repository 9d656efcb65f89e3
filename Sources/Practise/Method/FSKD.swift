import Engine
import Foundation
import NN

/// FSKD (Li et al., CVPR 2020): recover a filter-pruned network without gradient steps. Block by
/// block in forward order, a 1×1 conv `Q` (with bias `c`) is fitted in closed form so that the
/// student block, fed the student's own activations, reproduces the teacher's block on the tiny
/// set, and is then merged into the block's last conv and BatchNorm.
///
/// The fitted quantity is the block's output before its final activation: for a ResNet block
/// `relu(branch + skip)`, `Q·branch_s + c` is fitted to `branch_t + skip_t − skip_s` (teacher
/// branch and skip on the teacher's input, student skip on the student's input), so
/// `Q·branch_s + c + skip_s ≈ branch_t + skip_t`; MobileNetV2 blocks have no final activation.
/// Per pixel, with `z = [branch_s; 1]` (`d = C + 1`) and target `y` (`C`), over the `P` pixels of
/// the tiny set (eval transform):
///
///     minimise (1/P) Σ_p ‖Xᵀ z_p − y_p‖² + λ‖Q‖²,   X = [Qᵀ; cᵀ]  (d × C)
///     normal equations: (A + λ I′) X = B,  A = (1/P) Σ z zᵀ,  B = (1/P) Σ z yᵀ
///
/// where `I′` is the identity without the bias entry (the bias is not shrunk) and
/// `λ = ridge · mean(diag A)` over the channel entries (``ridge`` = 1e-4): small enough to leave a
/// well-posed fit unchanged, large enough that a channel that is always zero (a dead ReLU
/// channel) makes the system solvable. Solved by Cholesky in double precision.
public enum FSKD {
    public static let ridge = 1e-4

    /// Fits and merges a 1×1 conv after every block of `student` (in place, eval mode).
    /// `batches` are the tiny set's images `[N, C, H, W]` under the eval transform.
    public static func recover(student: ClassifierModel, teacher: ClassifierModel, batches: [Tensor],
                               progress: (String) -> Void = { _ in }) throws {
        teacher.eval(); student.eval()
        try Autograd.noGrad {
            var s = batches.map { student.stem($0) }, t = batches.map { teacher.stem($0) }
            for path in student.blockPaths {
                let sBlock = student.module(at: path)!, tBlock = teacher.module(at: path)!
                if let exit = student.branchExit(ofBlock: path) {
                    progress("FSKD: fitting \(path)")
                    let c = (student.module(at: exit.batchNorm) as! BatchNorm2d).channels
                    var normal = NormalEquations(inputs: c, outputs: c)
                    for (xs, xt) in zip(s, t) {
                        let (bs, ss) = residualParts(sBlock, xs), (bt, st) = residualParts(tBlock, xt)
                        var target = st.map { add(bt, $0) } ?? bt
                        if let ss { target = add(target, scaled(ss, -1)) }
                        normal.accumulate(bs, target)
                    }
                    let x = try normal.solve(ridge: ridge, label: path)
                    merge(x, channels: c, into: student, exit: exit)
                }
                s = s.map { sBlock($0) }
                t = t.map { tBlock($0) }
            }
        }
        student.eval()
    }

    /// The block's branch output and skip (nil when the block has no skip), before the final
    /// activation, read off the block's steps (``GraphBlock/residualParts(_:)``).
    public static func residualParts(_ block: Module, _ x: Tensor) -> (branch: Tensor, skip: Tensor?) {
        guard let b = block as? GraphBlock else { preconditionFailure("FSKD: \(type(of: block)) is not a graph block") }
        return b.residualParts(x)
    }

    /// Merges the fitted `x` (`[C + 1, C]`: rows are input channels then the bias) into the
    /// branch's last conv `W` and BatchNorm: with the BatchNorm as `a ⊙ (W h) + β`, the new conv is
    /// `Q·diag(a)·W` and the BatchNorm becomes `+ (Q β + c)` (mean 0, variance 1, scale √(1+ε)).
    public static func merge(_ x: [Double], channels c: Int, into model: ClassifierModel, exit: BranchExit) {
        let conv = model.module(at: exit.conv) as! Conv2d, bn = model.module(at: exit.batchNorm) as! BatchNorm2d
        precondition(conv.bias == nil && conv.outChannels == c, "FSKD merge: conv without bias and \(c) outputs expected")
        let gamma = bn.weight.value.array, beta = bn.bias.value.array, mean = bn.runningMean.array, variance = bn.runningVar.array
        let a = (0..<c).map { Double(gamma[$0]) / (Double(variance[$0]) + Double(bn.eps)).squareRoot() }
        let shift = (0..<c).map { Double(beta[$0]) - a[$0] * Double(mean[$0]) }
        let w = conv.weight.value.array, per = w.count / c
        var newW = [Float](repeating: 0, count: w.count), newBias = [Float](repeating: 0, count: c)
        for o in 0..<c {
            var acc = [Double](repeating: 0, count: per)
            var bias = x[c * c + o]
            for i in 0..<c {
                let q = x[i * c + o]
                if q == 0 { continue }
                let qa = q * a[i]
                for k in 0..<per { acc[k] += qa * Double(w[i * per + k]) }
                bias += q * shift[i]
            }
            for k in 0..<per { newW[o * per + k] = Float(acc[k]) }
            newBias[o] = Float(bias)
        }
        conv.weight.value.pointer.update(from: newW, count: newW.count)
        conv.weight.value.storage.markModified()
        func set(_ t: Tensor, _ v: [Float]) { t.pointer.update(from: v, count: v.count); t.storage.markModified() }
        set(bn.weight.value, [Float](repeating: Float((1 + Double(bn.eps)).squareRoot()), count: c))
        set(bn.bias.value, newBias)
        set(bn.runningMean, [Float](repeating: 0, count: c))
        set(bn.runningVar, [Float](repeating: 1, count: c))
    }

    private static func scaled(_ x: Tensor, _ s: Float) -> Tensor {
        let out = x.copy(); let p = out.pointer
        for i in 0..<out.count { p[i] *= s }
        return out
    }
}

/// Accumulates the normal equations of a per-pixel linear map with bias from `[N, C, H, W]`
/// inputs to `[N, C′, H, W]` targets (see ``FSKD``), in double precision.
public struct NormalEquations {
    public let inputs: Int, outputs: Int
    /// `A` `[d, d]` and `B` `[d, outputs]`, sums over pixels (d = inputs + 1, the last entry the bias).
    public private(set) var a: [Double], b: [Double]
    public private(set) var pixels = 0

    public init(inputs: Int, outputs: Int) {
        self.inputs = inputs; self.outputs = outputs
        a = [Double](repeating: 0, count: (inputs + 1) * (inputs + 1))
        b = [Double](repeating: 0, count: (inputs + 1) * outputs)
    }

    /// Adds the pixels of `z` `[N, inputs, H, W]` and `y` `[N, outputs, H, W]`.
    public mutating func accumulate(_ z: Tensor, _ y: Tensor) {
        precondition(z.shape[0] == y.shape[0] && Array(z.shape.dropFirst(2)) == Array(y.shape.dropFirst(2))
                     && z.shape[1] == inputs && y.shape[1] == outputs, "NormalEquations: shapes \(z.shape), \(y.shape)")
        let n = z.shape[0], hw = z.count / (n * inputs), d = inputs + 1
        let zp = z.pointer, yp = y.pointer
        var zv = [Double](repeating: 1, count: d), yv = [Double](repeating: 0, count: outputs)
        for img in 0..<n {
            for px in 0..<hw {
                for i in 0..<inputs { zv[i] = Double(zp[(img * inputs + i) * hw + px]) }
                for o in 0..<outputs { yv[o] = Double(yp[(img * outputs + o) * hw + px]) }
                for i in 0..<d {
                    let zi = zv[i]
                    if zi == 0 { continue }
                    for j in i..<d { a[i * d + j] += zi * zv[j] }
                    for o in 0..<outputs { b[i * outputs + o] += zi * yv[o] }
                }
            }
        }
        pixels += n * hw
    }

    /// `X` `[d, outputs]` (row-major) solving `(A/P + λ I′) X = B/P`, λ = `ridge · mean(diag A/P)`
    /// over the input entries. Throws when no pixels were seen or the system is not positive definite.
    public func solve(ridge: Double, label: String) throws -> [Double] {
        guard pixels > 0 else { throw PractiseError("FSKD \(label): no pixels to fit on (empty tiny set)") }
        let d = inputs + 1, p = Double(pixels)
        var m = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in i..<d { m[i * d + j] = a[i * d + j] / p; m[j * d + i] = m[i * d + j] } }
        let meanDiag = (0..<inputs).reduce(0.0) { $0 + m[$1 * d + $1] } / Double(max(inputs, 1))
        let lambda = ridge * max(meanDiag, 1e-12)
        for i in 0..<inputs { m[i * d + i] += lambda }
        // Cholesky m = L Lᵀ (lower triangle in place).
        for j in 0..<d {
            var s = m[j * d + j]
            for k in 0..<j { s -= m[j * d + k] * m[j * d + k] }
            guard s > 0, s.isFinite else { throw PractiseError("FSKD \(label): the least-squares system is singular (activations constant or not finite)") }
            let l = s.squareRoot()
            m[j * d + j] = l
            for i in (j + 1)..<max(d, j + 1) {
                var t = m[i * d + j]
                for k in 0..<j { t -= m[i * d + k] * m[j * d + k] }
                m[i * d + j] = t / l
            }
        }
        var x = b.map { $0 / p }
        for o in 0..<outputs {
            for i in 0..<d {  // forward: L y = b
                var t = x[i * outputs + o]
                for k in 0..<i { t -= m[i * d + k] * x[k * outputs + o] }
                x[i * outputs + o] = t / m[i * d + i]
            }
            for i in stride(from: d - 1, through: 0, by: -1) {  // back: Lᵀ x = y
                var t = x[i * outputs + o]
                for k in (i + 1)..<max(d, i + 1) { t -= m[k * d + i] * x[k * outputs + o] }
                x[i * outputs + o] = t / m[i * d + i]
            }
        }
        return x
    }
}
