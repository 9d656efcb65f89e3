import Engine
import Foundation
import XCTest

/// A tensor of standard-normal values scaled by `scale`, from a seeded generator.
public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor((0..<shape.reduce(1, *)).map { _ in g.nextGaussian() * scale }, shape: shape)
}

/// Asserts element-wise `|a − b| ≤ atol + rtol·|b|`, reporting the worst element.
public func assertClose(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5,
                        _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shape \(message)", file: file, line: line)
    guard a.shape == b.shape else { return }
    var worst: Float = 0, at = 0
    for i in 0..<a.count {
        let excess = abs(a.pointer[i] - b.pointer[i]) - (atol + rtol * abs(b.pointer[i]))
        if excess > worst || a.pointer[i].isNaN { worst = a.pointer[i].isNaN ? .infinity : excess; at = i }
    }
    XCTAssert(worst <= 0, "\(message): element \(at) is \(a.pointer[at]), expected \(b.pointer[at])", file: file, line: line)
}

/// `Σ x·r` for a constant `r`: reduces any output to a scalar with a non-trivial gradient.
public func weightedSum(_ x: Tensor, _ r: Tensor) -> Tensor {
    checkSameShape(x.shape, r.shape, "weightedSum")
    var s: Double = 0
    for i in 0..<x.count { s += Double(x.pointer[i]) * Double(r.pointer[i]) }
    return Autograd.record(Tensor(scalar: Float(s)), inputs: [x]) { gy, _ in
        let d = r.copy()
        Vector.scale(d.pointer, gy.item, count: d.count)
        return [d]
    }
}

/// Checks the analytic gradient of `f` with respect to each of `inputs` against central finite
/// differences, on up to `samples` elements per input. `f` must be deterministic.
///
/// Computation runs in Float32, so `eps` around 1e-2 balances truncation and rounding error.
public func gradCheck(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                      samples: Int = 40, seed: UInt64 = 7, _ f: ([Tensor]) -> Tensor,
                      file: StaticString = #filePath, line: UInt = #line) {
    let params = inputs.map { Parameter($0.copy()) }
    let probe = Autograd.noGrad { f(params.map { $0.value }) }
    let r = randomTensor(probe.shape, seed: seed)
    let loss = weightedSum(f(params.map { $0.tensor }), r)
    loss.backward()
    var g = SeededGenerator(seed: seed &+ 1)
    for (pi, p) in params.enumerated() {
        guard let grad = p.grad else { XCTFail("input \(pi) received no gradient", file: file, line: line); continue }
        let picks = p.value.count <= samples ? Array(0..<p.value.count) : (0..<samples).map { _ in g.nextInt(below: p.value.count) }
        for idx in picks {
            let saved = p.value.pointer[idx]
            p.value.pointer[idx] = saved + eps
            let plus = Autograd.noGrad { weightedSum(f(params.map { $0.value }), r).item }
            p.value.pointer[idx] = saved - eps
            let minus = Autograd.noGrad { weightedSum(f(params.map { $0.value }), r).item }
            p.value.pointer[idx] = saved
            let numeric = (plus - minus) / (2 * eps)
            let analytic = grad.pointer[idx]
            XCTAssertLessThanOrEqual(abs(numeric - analytic), atol + rtol * max(abs(numeric), abs(analytic)),
                                     "input \(pi) element \(idx): analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
        }
    }
}
