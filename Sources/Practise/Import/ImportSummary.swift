import Engine
import NN

extension GraphNetwork {
    /// A human-readable account of what was imported: input, stages of blocks (marking the
    /// candidates with their parameters and MACs), features and head. For an imported network.
    public func summary() -> String {
        guard let imageShape = fixedImageShape, let opset = sourceOpset else { preconditionFailure("summary() describes an imported network") }
        let inputShape = [1] + imageShape
        let candidates = Candidates.find(in: self, imageShape: imageShape)
        let byPath = Dictionary(uniqueKeysWithValues: candidates.map { ($0.path, $0) })
        let featureShape = Autograd.noGrad { () -> [Int] in
            let wasTraining = isTraining
            eval()
            defer { train(wasTraining) }
            return features(Tensor(zeros: inputShape)).shape
        }
        var lines = [
            "ONNX opset \(opset): input '\(inputName)' [N, \(imageShape.map(String.init).joined(separator: ", "))], output '\(outputName)' [N, \(numClasses)]",
            "\(parameterCount) parameters; \(blockPaths.count) blocks in \(stages.count) stages; features [N, \(featureShape.dropFirst().map(String.init).joined(separator: ", "))] before global pooling; head '\(headPrefix)'",
        ]
        for (s, stage) in stages.enumerated() {
            lines.append("stage \(s + 1):")
            for p in stage {
                let block = module(at: p) as? GraphBlock
                let kind = block.map { $0.hasIdentitySkip ? "residual, identity skip" : ($0.isResidual ? "residual, projection skip" : "plain") } ?? "dropped"
                if let c = byPath[p] {
                    lines.append("  \(p)  [\(kind)]  candidate: \(c.parameters) parameters, \(c.macs) MACs")
                } else {
                    lines.append("  \(p)  [\(kind)]")
                }
            }
        }
        lines.append("candidates: \(candidates.isEmpty ? "none" : candidates.map(\.path).joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }
}
