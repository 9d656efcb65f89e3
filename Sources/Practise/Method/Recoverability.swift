import Engine
import Foundation
import NN

/// Result of the recoverability phase for one candidate.
public struct CandidateScore: Sendable, Codable, Equatable {
    public var block: String
    /// Mean feature MSE on the tiny set (eval transform) after training the adaptors.
    public var recoverability: Double
    /// Share of the teacher's latency removed by dropping only this block, in percent.
    public var latencyReduction: Double
    /// 95% interval of `latencyReduction` (equal to it when known exactly).
    public var latencyLow: Double, latencyHigh: Double
    /// `recoverability / latencyReduction` — lower is a better block to drop.
    public var score: Double { latencyReduction > 0 ? recoverability / latencyReduction : .infinity }
    /// Set when a halving analysis (``SuccessiveHalving``) stopped training this candidate: the
    /// iterations its adaptors got, at which `recoverability` was measured. Nil: trained the
    /// analysis' full iterations.
    public var eliminatedAfter: Int?
    /// Whether `recoverability` is the full analysis' (false for a candidate eliminated early).
    public var fullyMeasured: Bool { eliminatedAfter == nil }

    public var latency: LatencyInterval { LatencyInterval(value: latencyReduction, low: latencyLow, high: latencyHigh) }

    enum CodingKeys: String, CodingKey {
        case block, recoverability, latencyReduction = "latency_reduction", latencyInterval = "latency_reduction_ci", score
        case eliminated, iterations
    }

    public init(block: String, recoverability: Double, latencyReduction: Double) {
        self.init(block: block, recoverability: recoverability, latency: LatencyInterval(exact: latencyReduction))
    }

    public init(block: String, recoverability: Double, latency: LatencyInterval, eliminatedAfter: Int? = nil) {
        self.block = block; self.recoverability = recoverability
        latencyReduction = latency.value; latencyLow = latency.low; latencyHigh = latency.high
        self.eliminatedAfter = eliminatedAfter
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        block = try c.decode(String.self, forKey: .block)
        recoverability = try c.decode(Double.self, forKey: .recoverability)
        latencyReduction = try c.decode(Double.self, forKey: .latencyReduction)
        let ci = try c.decodeIfPresent([Double].self, forKey: .latencyInterval)
        latencyLow = ci?.first ?? latencyReduction
        latencyHigh = ci?.last ?? latencyReduction
        if try c.decodeIfPresent(Bool.self, forKey: .eliminated) == true {
            eliminatedAfter = try c.decode(Int.self, forKey: .iterations)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(block, forKey: .block)
        try c.encode(recoverability, forKey: .recoverability)
        try c.encode(latencyReduction, forKey: .latencyReduction)
        try c.encode([latencyLow, latencyHigh], forKey: .latencyInterval)
        try c.encode(score.isFinite ? score : 1e30, forKey: .score)
        if let eliminatedAfter {  // absent for fully measured candidates: files of full analyses are unchanged
            try c.encode(true, forKey: .eliminated)
            try c.encode(eliminatedAfter, forKey: .iterations)
        }
    }
}

/// Trains every candidate's adaptors in lockstep and measures how well each dropped block can be
/// recovered.
///
/// Per iteration the teacher runs once (no grad, eval mode), keeping the activation entering
/// each stage that a candidate changes and the final features; each candidate's student then
/// starts from the cached activation at its first changed block, so the unchanged prefix of
/// the network is never recomputed, and every candidate trains on identical batches.
public final class RecoverabilityAnalysis {
    public let teacher: ClassifierModel
    public let candidates: [BlockCandidate]
    public let config: PhaseConfig
    public let students: [AdaptedStudent]
    private let optimizers: [SGD]
    /// Iterations completed so far (restored from a checkpoint when resuming).
    public private(set) var completedIterations = 0
    /// Where this process's training iterations went (a resumed run times only its own).
    public private(set) var time: TrainingTime

    /// Whether candidate `i` (in the order of ``candidates``) is still trained; a halving
    /// analysis stops the ones it eliminates (``stopTraining(_:)``).
    public private(set) var training: [Bool]

    /// Wall seconds of the training iterations run by this process: the teacher's pass and,
    /// per candidate, its student's forward from the first changed block, backward and update.
    public struct TrainingTime: Sendable, Equatable {
        public var iterations = 0
        public var teacherSeconds = 0.0
        /// Per candidate, in the order of ``RecoverabilityAnalysis/candidates``: seconds, and
        /// the iterations they cover (fewer than `iterations` for one stopped early).
        public var studentSeconds: [Double]
        public var studentIterations: [Int]

        public init(candidates: Int) {
            studentSeconds = Array(repeating: 0, count: candidates)
            studentIterations = Array(repeating: 0, count: candidates)
        }

        /// Mean seconds per iteration of the teacher's pass (nil before any iteration).
        public var teacherPerIteration: Double? { iterations > 0 ? teacherSeconds / Double(iterations) : nil }
        /// Mean seconds per iteration of candidate `i`'s student (nil before any of its iterations).
        public func studentPerIteration(_ i: Int) -> Double? { studentIterations[i] > 0 ? studentSeconds[i] / Double(studentIterations[i]) : nil }
    }

    public init(teacher: ClassifierModel, candidates: [BlockCandidate], config: PhaseConfig) {
        self.teacher = teacher
        self.candidates = candidates
        self.config = config
        teacher.setRequiresGrad(false)
        teacher.prepareForInference()
        students = candidates.map { AdaptedStudent(placement: AdaptorPlacement(dropping: $0, in: teacher), model: teacher) }
        optimizers = students.map {
            SGD(parameters: $0.adaptorParameters, learningRate: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay)
        }
        time = TrainingTime(candidates: candidates.count)
        training = Array(repeating: true, count: candidates.count)
    }

    /// Stops training the candidates at `indices`: later iterations leave their adaptors as
    /// they are. The others' training is unaffected (each has its own adaptors and optimiser,
    /// and every iteration's batch and teacher pass are the same).
    public func stopTraining(_ indices: [Int]) {
        for i in indices { training[i] = false }
    }

    /// Seconds since an arbitrary origin, monotonic.
    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Teacher activations entering each block in `keep`, plus the final features.
    func teacherPass(_ x: Tensor, keep: Set<Int>) -> (entries: [Int: Tensor], features: Tensor) {
        Autograd.noGrad {
            var h = teacher.stem(x)
            var entries: [Int: Tensor] = [:]
            for (i, path) in teacher.blockPaths.enumerated() {
                if keep.contains(i) { entries[i] = h }
                h = teacher.module(at: path)!(h)
            }
            return (entries, teacher.tail(h))
        }
    }

    /// Blocks whose entry activation a candidate still being trained starts from.
    private var entryBlocks: Set<Int> { Set(students.indices.filter { training[$0] }.map { students[$0].placement.firstChangedBlock }) }

    /// Runs training iterations up to `until` (default `config.iterations`, the schedule's
    /// length: the learning rate always follows `config.iterations`), calling
    /// `afterIteration(i, losses)` after each with the losses of the candidates still trained
    /// (for progress and checkpoints). Throws when a loss becomes NaN.
    public func train(data: TinySet, until: Int? = nil, afterIteration: (Int, [Float]) throws -> Void = { _, _ in }) throws {
        let keep = entryBlocks
        let end = min(until ?? config.iterations, config.iterations)
        while completedIterations < end {
            let it = completedIterations
            let batch = try data.trainBatch(it)
            let t0 = Self.now()
            let (entries, target) = teacherPass(batch.images, keep: keep)
            time.teacherSeconds += Self.now() - t0
            var losses: [Float] = []
            for (index, (s, opt)) in zip(students, optimizers).enumerated() where training[index] {
                let t1 = Self.now()
                defer { time.studentSeconds[index] += Self.now() - t1; time.studentIterations[index] += 1 }
                opt.learningRate = config.rate(at: it)
                s.apply(to: teacher)
                let out = teacher.features(fromBlock: s.placement.firstChangedBlock, input: entries[s.placement.firstChangedBlock]!)
                let loss = mseLoss(out, target)
                s.remove(from: teacher)
                guard loss.item.isFinite else {
                    throw PractiseError("adaptor training for \(s.placement.dropped) diverged: loss is \(loss.item) at iteration \(it + 1); try a lower --lr")
                }
                loss.backward()
                opt.step()
                opt.zeroGrad()
                losses.append(loss.item)
            }
            completedIterations += 1
            time.iterations += 1
            try afterIteration(it, losses)
        }
        for (s, trained) in zip(students, training) where trained && !Divergence.allFinite(s.adaptorParameters) {
            throw PractiseError("adaptor training for \(s.placement.dropped) diverged: its adaptors hold NaN or infinity after the last update (iteration \(completedIterations)); try a lower --lr")
        }
    }

    /// Teacher features and block-entry activations of the tiny set under the eval transform,
    /// computed once and shared by every candidate's evaluation.
    public struct EvalCache {
        let batches: [(entries: [Int: Tensor], features: Tensor, count: Int)]
    }

    public func makeEvalCache(data: TinySet) throws -> EvalCache {
        let keep = entryBlocks
        return EvalCache(batches: try data.evalBatches().map { b in
            let (e, f) = teacherPass(b.images, keep: keep)
            return (e, f, b.images.shape[0])
        })
    }

    /// Mean feature MSE of candidate `index` over the cached tiny set.
    public func recoverability(of index: Int, cache: EvalCache) -> Double {
        let s = students[index]
        s.apply(to: teacher)
        defer { s.remove(from: teacher) }
        var total = 0.0, count = 0
        Autograd.noGrad {
            for b in cache.batches {
                let out = teacher.features(fromBlock: s.placement.firstChangedBlock, input: b.entries[s.placement.firstChangedBlock]!)
                total += Double(mseLoss(out, b.features).item) * Double(b.count)
                count += b.count
            }
        }
        return total / Double(max(count, 1))
    }

    // MARK: Checkpoints

    /// Adaptor weights and momentum buffers of every candidate, keyed for safetensors.
    public func checkpointTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (s, opt) in zip(students, optimizers) {
            let state = opt.state
            for (i, p) in s.adaptorParameters.enumerated() {
                out["\(s.placement.dropped)/adaptor.\(i)"] = p.value
                if let m = state[i] { out["\(s.placement.dropped)/momentum.\(i)"] = m }
            }
        }
        return out
    }

    /// Restores a state written by ``checkpointTensors()`` after `iterations` iterations.
    public func restore(_ tensors: [String: Tensor], iterations: Int) throws {
        for (s, opt) in zip(students, optimizers) {
            var momentum: [Tensor?] = []
            for (i, p) in s.adaptorParameters.enumerated() {
                guard let w = tensors["\(s.placement.dropped)/adaptor.\(i)"], w.shape == p.shape else {
                    throw PractiseError("analysis checkpoint does not match the candidates (adaptor \(i) of \(s.placement.dropped)); delete it to start over")
                }
                p.value = w.copy()
                momentum.append(tensors["\(s.placement.dropped)/momentum.\(i)"])
            }
            opt.restore(momentum)
        }
        completedIterations = iterations
    }
}
