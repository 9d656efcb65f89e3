import Engine
import Foundation
import NN

/// How the pruned network is finetuned.
public enum FinetuneMethod: String, Sendable, Codable, CaseIterable {
    /// Mimicking the teacher's pre-pool features (MSE), classifier frozen, BatchNorm in train mode.
    case mir = "MiR"
    /// Plain cross-entropy on the labels (back-propagation baseline).
    case bp = "BP"
    /// Knowledge distillation on softened logits (KL, temperature 4).
    case kd = "KD"

    /// Accepts any capitalisation.
    public init?(caseInsensitive s: String) {
        guard let m = Self.allCases.first(where: { $0.rawValue.lowercased() == s.lowercased() }) else { return nil }
        self = m
    }
}

public enum Finetuner {
    public static let kdTemperature: Float = 4

    /// Finetunes `student` in place. `teacher` is only read (eval mode, no grad).
    /// `afterIteration(i, loss)` reports progress; throws when a loss becomes NaN.
    public static func run(student: ClassifierModel, teacher: ClassifierModel, method: FinetuneMethod,
                           data: TinySet, config: PhaseConfig,
                           afterIteration: (Int, Float) throws -> Void = { _, _ in }) throws {
        teacher.prepareForInference()
        student.train()
        student.setRequiresGrad(true)
        if method == .mir {
            // The head does not see the MSE loss; freeze it explicitly (the reference's freeze was a no-op).
            for (k, p) in student.namedParameters() where k.hasPrefix(student.headPrefix + ".") { p.requiresGrad = false }
        }
        let params = student.namedParameters().map(\.parameter).filter(\.requiresGrad)
        let opt = SGD(parameters: params, learningRate: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay)
        for it in 0..<config.iterations {
            let batch = try data.trainBatch(it)
            opt.learningRate = config.rate(at: it)
            let loss: Tensor
            switch method {
            case .mir:
                let target = Autograd.noGrad { teacher.features(batch.images) }
                loss = mseLoss(student.features(batch.images), target)
            case .bp:
                loss = crossEntropy(student(batch.images), targets: batch.labels)
            case .kd:
                let t = Autograd.noGrad { teacher(batch.images) }
                loss = klDivergence(student: student(batch.images), teacher: t, temperature: kdTemperature)
            }
            guard loss.item.isFinite else {
                throw PractiseError("\(method.rawValue) finetuning diverged: loss is \(loss.item) at iteration \(it + 1); try a lower --lr")
            }
            loss.backward()
            opt.step()
            opt.zeroGrad()
            try afterIteration(it, loss.item)
        }
        if let key = Divergence.firstNonFinite(in: student) {
            throw PractiseError("\(method.rawValue) finetuning diverged: \(key) holds NaN or infinity after the last update (iteration \(config.iterations)); try a lower --lr")
        }
        student.setRequiresGrad(true)
        student.eval()
    }
}
