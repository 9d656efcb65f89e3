import Testing
@testable import ONNX

@Suite struct BatchNormFoldingTests {
    @Test func handComputedValues() {
        // Two output channels, two weights each.
        let folded = foldBatchNorm(
            convWeight: [1, 2, 3, 4], convBias: [0.5, -1],
            gamma: [2, 0.5], beta: [1, 0], runningMean: [0.5, 1], runningVar: [3, 0.25], eps: 1)
        // scale = gamma / sqrt(var + eps) = [2 / 2, 0.5 / sqrt(1.25)]
        let s1 = 0.5 / (1.25 as Double).squareRoot()
        #expect(folded.weight[0] == 1)
        #expect(folded.weight[1] == 2)
        #expect(abs(Double(folded.weight[2]) - 3 * s1) < 1e-6)
        #expect(abs(Double(folded.weight[3]) - 4 * s1) < 1e-6)
        #expect(folded.bias[0] == 1)                                     // (0.5 - 0.5) * 1 + 1
        #expect(abs(Double(folded.bias[1]) - (-2 * s1)) < 1e-6)           // (-1 - 1) * s1 + 0
    }

    @Test func missingBiasIsZero() {
        let folded = foldBatchNorm(convWeight: [1, 1], convBias: nil, gamma: [1, 1], beta: [0.25, 0],
                                   runningMean: [2, -2], runningVar: [1, 1], eps: 0)
        #expect(folded.weight == [1, 1])
        #expect(folded.bias == [-1.75, 2])
    }

    @Test func foldedConvMatchesConvThenBatchNorm() {
        var rng = SplitMix64(seed: 42)
        let (o, i, k, groups) = (6, 4, 3, 2)
        let shape = [o, i / groups, k, k]
        let weight = rng.uniform(shape.reduce(1, *), -1, 1)
        let bias = rng.uniform(o, -0.5, 0.5)
        let gamma = rng.uniform(o, 0.2, 2)
        let beta = rng.uniform(o, -1, 1)
        let mean = rng.uniform(o, -1, 1)
        let variance = rng.uniform(o, 0.01, 3)
        let x = RefTensor(shape: [2, i, 7, 7], data: rng.uniform(2 * i * 49, -2, 2))

        let expected = Ref.batchNorm(
            Ref.conv(x, weight: weight, weightShape: shape, bias: bias, stride: 2, padding: 1, groups: groups),
            gamma: gamma, beta: beta, mean: mean, variance: variance, eps: 1e-5)
        let folded = foldBatchNorm(convWeight: weight, convBias: bias, gamma: gamma, beta: beta,
                                   runningMean: mean, runningVar: variance, eps: 1e-5)
        let actual = Ref.conv(x, weight: folded.weight, weightShape: shape, bias: folded.bias,
                              stride: 2, padding: 1, groups: groups)
        #expect(actual.shape == expected.shape)
        let maxDiff = zip(actual.data, expected.data).map { abs($0 - $1) }.max()!
        #expect(maxDiff < 1e-4, "max |folded - unfolded| = \(maxDiff)")
    }
}
