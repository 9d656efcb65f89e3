import Engine
import Foundation
import NN

/// Top-1 / top-5 accuracy in percent over `count` images.
public struct Accuracy: Sendable, Codable, Equatable {
    public var top1: Double, top5: Double, count: Int
}

public enum Evaluation {
    /// Evaluates `model` in eval mode over the batches `next()` returns until nil.
    public static func accuracy(_ model: ClassifierModel, next: () throws -> LabelledBatch?,
                                progress: (Int) -> Void = { _ in }) throws -> Accuracy {
        model.prepareForInference()
        var c1 = 0, c5 = 0, n = 0
        while let batch = try next() {
            let logits = Autograd.noGrad { model(batch.images) }
            let k = logits.shape[1]
            for r in 0..<batch.labels.count {
                let row = logits.pointer + r * k
                let target = row[batch.labels[r]]
                var higher = 0
                for j in 0..<k where row[j] > target || (row[j] == target && j < batch.labels[r]) { higher += 1 }
                if higher == 0 { c1 += 1 }
                if higher < 5 { c5 += 1 }
            }
            n += batch.labels.count
            progress(n)
        }
        return Accuracy(top1: 100 * Double(c1) / Double(max(n, 1)), top5: 100 * Double(c5) / Double(max(n, 1)), count: n)
    }
}
