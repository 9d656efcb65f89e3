// Compares latency estimators on the same interleaved rounds, repeated: which one gives the
// candidates of a model the same shares (and the same order) every time on this machine?
//
//   swift run -c release latency-bench [model] [batch] [repeats] [rounds] [threads]
//   (defaults: resnet20 64 6 40 2; images 1×28×28 for CIFAR-style models, else 3×224×224)
//
// Per estimator: each shape's mean share over the repeats, its coefficient of variation across
// repeats, and how many repeats ordered the shapes as the most common order did.
import Engine
import Foundation
import NN
import Practise

let args = CommandLine.arguments
let arch = Architecture(rawValue: args.count > 1 ? args[1] : "resnet20") ?? .resnet20
let batch = args.count > 2 ? Int(args[2])! : 64
let repeats = args.count > 3 ? Int(args[3])! : 6
let roundsPerRepeat = args.count > 4 ? Int(args[4])! : 40
Threads.count = args.count > 5 ? Int(args[5])! : 2
let side = arch.defaultImageSize
let model = arch.make(seed: 1)
let shape = [arch.defaultInChannels, side, side]
let candidates = Candidates.find(in: model, imageShape: shape)
let w = CandidateWorkloads(model: model, candidates: candidates, imageShape: shape, batch: batch)
let meter = LatencyMeter(runs: roundsPerRepeat, budgetSeconds: 1e9, minRuns: roundsPerRepeat, targetHalfWidth: 0)

typealias Estimator = (LatencyRounds, Int) -> Double  // share (%) of shape index i (workload i + 1)
let estimators: [(String, Estimator)] = [
    ("median of paired ratios", { r, i in 100 * RobustStatistics.median(r.ratios(i + 1, over: 0)) }),
    ("trimmed mean (20%) of paired ratios", { r, i in 100 * RobustStatistics.trimmedMean(r.ratios(i + 1, over: 0)) }),
    ("ratio of medians", { r, i in 100 * RobustStatistics.median(r.wallMs[i + 1]) / RobustStatistics.median(r.wallMs[0]) }),
    ("ratio of minimums", { r, i in 100 * r.wallMs[i + 1].min()! / r.wallMs[0].min()! }),
    ("ratio of means", { r, i in 100 * (r.wallMs[i + 1].reduce(0, +) / r.wallMs[0].reduce(0, +)) }),
    ("median of paired CPU-time ratios", { r, i in 100 * RobustStatistics.median(zip(r.cpuMs[i + 1], r.cpuMs[0]).map { $0 / $1 }) }),
]
var values = Array(repeating: Array(repeating: [Double](), count: w.shapeKeys.count), count: estimators.count)
var halfWidths: [Double] = [], cpuShare: [Double] = [], wholeMs: [Double] = []
let t0 = Date()
for rep in 0..<repeats {
    let r = meter.rounds(w.workloads, batch: batch, tracking: [])
    for (e, est) in estimators.enumerated() { for i in w.shapeKeys.indices { values[e][i].append(est.1(r, i)) } }
    halfWidths.append(w.shapeKeys.indices.map { RobustStatistics.medianInterval(r.ratios($0 + 1, over: 0)).relativeHalfWidth }.max()!)
    cpuShare.append(RobustStatistics.median(zip(r.cpuMs[0], r.wallMs[0]).map { $0 / $1 }))
    wholeMs.append(RobustStatistics.median(r.wallMs[0]))
    FileHandle.standardError.write(Data("repeat \(rep + 1)/\(repeats) done (\(Int(Date().timeIntervalSince(t0))) s)\n".utf8))
}
let cpuModel = MachineDescription.cpuModel
print("\(arch.rawValue), images \(shape), batch \(batch), \(Threads.count) threads, \(repeats) repeats × \(roundsPerRepeat) rounds; \(cpuModel), \(MachineDescription.simdLevel)")
print("whole model median per repeat (ms): \(wholeMs.map { String(format: "%.1f", $0) }.joined(separator: " "))")
print("calling thread CPU / wall of the whole model, per repeat: \(cpuShare.map { String(format: "%.2f", $0) }.joined(separator: " "))")
print("widest 95% interval of the paired-ratio median, per repeat: \(halfWidths.map { String(format: "±%.1f%%", $0 * 100) }.joined(separator: " "))")
let shortKeys = w.shapeKeys.map { k in candidates.first { w.keyOf[$0.path] == k }!.path }
print("\n| estimator | " + shortKeys.map { "\($0) share (CV)" }.joined(separator: " | ") + " | repeats with the modal order |")
print("|---|" + String(repeating: "---:|", count: shortKeys.count + 1))
for (e, est) in estimators.enumerated() {
    let cells = values[e].map { v -> String in
        let mean = v.reduce(0, +) / Double(v.count)
        let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, v.count - 1))).squareRoot()
        return String(format: "%.2f%% (%.1f%%)", mean, 100 * sd / mean)
    }
    let orders = (0..<repeats).map { rep in w.shapeKeys.indices.sorted { values[e][$0][rep] > values[e][$1][rep] } }
    var counts: [[Int]: Int] = [:]
    for o in orders { counts[o, default: 0] += 1 }
    print("| \(est.0) | " + cells.joined(separator: " | ") + " | \(counts.values.max()!)/\(repeats) |")
}
