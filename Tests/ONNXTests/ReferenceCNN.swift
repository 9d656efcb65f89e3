// Naive NCHW float reference ops, used only by the tests to compute expected outputs.

/// A dense NCHW (or [N, F]) float tensor.
struct RefTensor {
    var shape: [Int]
    var data: [Float]

    init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count)
        self.shape = shape
        self.data = data
    }

    init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }
}

/// Deterministic SplitMix64 generator for test weights.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ count: Int, _ lo: Float, _ hi: Float) -> [Float] {
        (0..<count).map { _ in Float.random(in: lo..<hi, using: &self) }
    }
}

enum Ref {
    static func conv(_ x: RefTensor, weight: [Float], weightShape: [Int], bias: [Float]?,
                     stride: Int, padding: Int, groups: Int) -> RefTensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, icg, kh, kw) = (weightShape[0], weightShape[1], weightShape[2], weightShape[3])
        precondition(icg * groups == c && o % groups == 0)
        let ocg = o / groups
        let oh = (h + 2 * padding - kh) / stride + 1
        let ow = (w + 2 * padding - kw) / stride + 1
        var y = RefTensor(zeros: [n, o, oh, ow])
        for b in 0..<n {
            for oc in 0..<o {
                let g = oc / ocg
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var acc = Double(bias?[oc] ?? 0)
                        for ic in 0..<icg {
                            let cin = g * icg + ic
                            for ky in 0..<kh {
                                let iy = oy * stride - padding + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kw {
                                    let ix = ox * stride - padding + kx
                                    if ix < 0 || ix >= w { continue }
                                    let xv = x.data[((b * c + cin) * h + iy) * w + ix]
                                    let wv = weight[((oc * icg + ic) * kh + ky) * kw + kx]
                                    acc += Double(xv) * Double(wv)
                                }
                            }
                        }
                        y.data[((b * o + oc) * oh + oy) * ow + ox] = Float(acc)
                    }
                }
            }
        }
        return y
    }

    static func batchNorm(_ x: RefTensor, gamma: [Float], beta: [Float], mean: [Float], variance: [Float], eps: Float) -> RefTensor {
        let (n, c) = (x.shape[0], x.shape[1])
        let plane = x.data.count / (n * c)
        var y = x
        for b in 0..<n {
            for ch in 0..<c {
                let inv = 1 / (Double(variance[ch]) + Double(eps)).squareRoot()
                for i in 0..<plane {
                    let idx = (b * c + ch) * plane + i
                    y.data[idx] = Float((Double(x.data[idx]) - Double(mean[ch])) * inv * Double(gamma[ch]) + Double(beta[ch]))
                }
            }
        }
        return y
    }

    static func relu(_ x: RefTensor) -> RefTensor {
        RefTensor(shape: x.shape, data: x.data.map { max($0, 0) })
    }

    static func relu6(_ x: RefTensor) -> RefTensor {
        RefTensor(shape: x.shape, data: x.data.map { min(max($0, 0), 6) })
    }

    static func add(_ a: RefTensor, _ b: RefTensor) -> RefTensor {
        precondition(a.shape == b.shape)
        return RefTensor(shape: a.shape, data: zip(a.data, b.data).map { $0 + $1 })
    }

    static func maxPool(_ x: RefTensor, kernel: Int, stride: Int, padding: Int) -> RefTensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h + 2 * padding - kernel) / stride + 1
        let ow = (w + 2 * padding - kernel) / stride + 1
        var y = RefTensor(zeros: [n, c, oh, ow])
        for bc in 0..<(n * c) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var m = -Float.infinity
                    for ky in 0..<kernel {
                        let iy = oy * stride - padding + ky
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kernel {
                            let ix = ox * stride - padding + kx
                            if ix < 0 || ix >= w { continue }
                            m = max(m, x.data[(bc * h + iy) * w + ix])
                        }
                    }
                    y.data[(bc * oh + oy) * ow + ox] = m
                }
            }
        }
        return y
    }

    static func globalAveragePool(_ x: RefTensor) -> RefTensor {
        let (n, c) = (x.shape[0], x.shape[1])
        let plane = x.shape[2] * x.shape[3]
        var y = RefTensor(zeros: [n, c, 1, 1])
        for bc in 0..<(n * c) {
            var s = 0.0
            for i in 0..<plane { s += Double(x.data[bc * plane + i]) }
            y.data[bc] = Float(s / Double(plane))
        }
        return y
    }

    static func flatten(_ x: RefTensor) -> RefTensor {
        RefTensor(shape: [x.shape[0], x.data.count / x.shape[0]], data: x.data)
    }

    /// x: [N, in], weight: [out, in] → x · Wᵀ + b.
    static func linear(_ x: RefTensor, weight: [Float], outFeatures: Int, bias: [Float]) -> RefTensor {
        let (n, inF) = (x.shape[0], x.shape[1])
        var y = RefTensor(zeros: [n, outFeatures])
        for b in 0..<n {
            for o in 0..<outFeatures {
                var acc = Double(bias[o])
                for i in 0..<inF { acc += Double(x.data[b * inF + i]) * Double(weight[o * inF + i]) }
                y.data[b * outFeatures + o] = Float(acc)
            }
        }
        return y
    }
}
