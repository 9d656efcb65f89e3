import Engine
import Foundation

/// DeepInversion's image priors on a batch `x` `[N, C, H, W]`, with their gradients.
///
/// * **TV-ℓ2**: `‖D₁‖ + ‖D₂‖ + ‖D₃‖ + ‖D₄‖`, Frobenius norms over the whole batch of the
///   differences of each pixel with its right, lower, lower-left-to-upper-right and lower-right
///   neighbours: `D₁ = x[…, :, :-1] − x[…, :, 1:]`, `D₂ = x[…, :-1, :] − x[…, 1:, :]`,
///   `D₃ = x[…, 1:, :-1] − x[…, :-1, 1:]`, `D₄ = x[…, :-1, :-1] − x[…, 1:, 1:]`.
/// * **ℓ2**: the mean over images of each image's Euclidean norm.
public enum ImagePriors {
    /// The four neighbour offsets `(dy₀, dx₀, dy₁, dx₁)`: `D = x[h+dy₀, w+dx₀] − x[h+dy₁, w+dx₁]`.
    static let directions: [(Int, Int, Int, Int)] = [(0, 0, 0, 1), (0, 0, 1, 0), (1, 0, 0, 1), (0, 0, 1, 1)]

    /// Returns `(tv, l2)` and adds `tvWeight·∂tv/∂x + l2Weight·∂l2/∂x` into `gradient` (`x`'s shape).
    public static func evaluate(_ x: Tensor, tvWeight: Float, l2Weight: Float, addingGradientTo gradient: Tensor) -> (tv: Double, l2: Double) {
        checkShape(x.rank == 4 && gradient.shape == x.shape, "ImagePriors: x \(x.shape), gradient \(gradient.shape)")
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], planes = n * c
        let xp = x.pointer, gp = gradient.pointer
        var tv: Double = 0
        for (y0, x0, y1, x1) in directions {
            var ss: Double = 0
            for p in 0..<planes {
                let base = xp + p * h * w
                for r in 0..<(h - max(y0, y1)) {
                    for q in 0..<(w - max(x0, x1)) {
                        let d = Double(base[(r + y0) * w + q + x0] - base[(r + y1) * w + q + x1])
                        ss += d * d
                    }
                }
            }
            let norm = ss.squareRoot()
            tv += norm
            guard norm > 0, tvWeight != 0 else { continue }
            let k = tvWeight / Float(norm)
            for p in 0..<planes {
                let base = xp + p * h * w, g = gp + p * h * w
                for r in 0..<(h - max(y0, y1)) {
                    for q in 0..<(w - max(x0, x1)) {
                        let a = (r + y0) * w + q + x0, b = (r + y1) * w + q + x1
                        let d = k * (base[a] - base[b])
                        g[a] += d
                        g[b] -= d
                    }
                }
            }
        }
        var l2: Double = 0
        let per = c * h * w
        for i in 0..<n {
            let v = xp + i * per, g = gp + i * per
            var ss: Double = 0
            for j in 0..<per { ss += Double(v[j]) * Double(v[j]) }
            let norm = ss.squareRoot()
            l2 += norm / Double(n)
            guard norm > 0, l2Weight != 0 else { continue }
            let k = l2Weight / Float(norm) / Float(n)
            for j in 0..<per { g[j] += k * v[j] }
        }
        return (tv, l2)
    }
}

/// DeepInversion's random jitter: the batch rolled by `(dy, dx)` pixels (`torch.roll` over H and
/// W), then mirrored left–right when `flip`. A permutation of pixels, so its adjoint (for the
/// gradient) is the inverse permutation.
public struct Jitter: Sendable, Equatable {
    public var dy: Int, dx: Int, flip: Bool
    public init(dy: Int, dx: Int, flip: Bool) { self.dy = dy; self.dx = dx; self.flip = flip }

    /// `out[h, w] = x[(h − dy) mod H, (w' − dx) mod W]` with `w' = W−1−w` when flipped, else `w`.
    public func apply(_ x: Tensor) -> Tensor { permute(x, inverse: false) }

    /// The adjoint: maps a gradient with respect to `apply(x)` to one with respect to `x`.
    public func adjoint(_ g: Tensor) -> Tensor { permute(g, inverse: true) }

    private func permute(_ x: Tensor, inverse: Bool) -> Tensor {
        let h = x.shape[2], w = x.shape[3], planes = x.shape[0] * x.shape[1]
        let out = Tensor(uninitialized: x.shape)
        let xp = x.pointer, op = out.pointer
        func wrap(_ v: Int, _ m: Int) -> Int { ((v % m) + m) % m }
        for p in 0..<planes {
            let src = xp + p * h * w, dst = op + p * h * w
            for r in 0..<h {
                let sr = wrap(r - dy, h)
                for q in 0..<w {
                    let sq = wrap((flip ? w - 1 - q : q) - dx, w)
                    if inverse { dst[sr * w + sq] = src[r * w + q] } else { dst[r * w + q] = src[sr * w + sq] }
                }
            }
        }
        return out
    }
}
