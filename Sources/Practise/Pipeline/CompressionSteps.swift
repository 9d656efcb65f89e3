import Foundation
import NN

/// The steps both compression schemes (blocks, ``CompressionRun``; channels,
/// ``ChannelCompressionRun``) take alike: the three evaluations, refused when a network's logits
/// are not finite, and the final teacher-versus-student latency.
enum CompressionSteps {
    /// `base` with the run's latency threads (nil: the meter's own).
    static func meter(_ base: LatencyMeter, threads: Int?) -> LatencyMeter {
        var m = base
        if let threads { m.threads = threads }
        return m
    }

    /// Accuracy of `model`; throws when it produced non-finite logits, naming it as `what`
    /// and adding `advice`.
    static func accuracy(of model: ClassifierModel, _ what: String, advice: String = "",
                         evaluate: (ClassifierModel) throws -> Accuracy) throws -> Accuracy {
        let acc = try evaluate(model)
        if let p = acc.nonFiniteProblem(of: what) { throw PractiseError(p + advice) }
        return acc
    }

    /// The teacher's and the pruned network's accuracy before recovery (`recovery` names the
    /// step in the progress line); their wall seconds go to `wall["evaluation"]`.
    static func evaluateBeforeRecovery(teacher: ClassifierModel, pruned: ClassifierModel, recovery: String,
                                       evaluate: (ClassifierModel) throws -> Accuracy, wall: inout [String: Double],
                                       progress: (String) -> Void) throws -> (teacher: Accuracy, pruned: Accuracy) {
        let t0 = Date()
        progress("evaluating the teacher")
        let teacherAcc = try accuracy(of: teacher, "the teacher", evaluate: evaluate)
        progress("evaluating the pruned network before \(recovery)")
        let prunedAcc = try accuracy(of: pruned, "the pruned network", evaluate: evaluate)
        wall["evaluation"] = Date().timeIntervalSince(t0)
        return (teacherAcc, prunedAcc)
    }

    /// The recovered student's accuracy, then teacher and student timed interleaved at `batch`;
    /// adds their wall seconds to `wall["evaluation"]` and `wall["latency"]` and sets
    /// `wall["total"]` from `start`.
    static func finish(teacher: ClassifierModel, student: ClassifierModel, evaluate: (ClassifierModel) throws -> Accuracy,
                       meter: LatencyMeter, imageShape: [Int], batch: Int, start: Date, wall: inout [String: Double],
                       progress: (String) -> Void) throws -> (accuracy: Accuracy, latency: PairedLatency) {
        let t0 = Date()
        progress("evaluating the student")
        let acc = try accuracy(of: student, "the recovered student", advice: "; try a lower --lr", evaluate: evaluate)
        wall["evaluation", default: 0] += Date().timeIntervalSince(t0)
        let t1 = Date()
        progress("measuring latency of teacher and student")
        let latency = meter.pairedReduction(teacher: teacher, student: student, imageShape: imageShape, batch: batch)
        wall["latency", default: 0] += Date().timeIntervalSince(t1)
        wall["total"] = Date().timeIntervalSince(start)
        return (acc, latency)
    }
}
