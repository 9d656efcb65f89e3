import CKernels
import Engine
import Foundation
import NN

/// Throughput of one workload of the engine benchmark, printed as one JSON line:
/// `engine-bench WORKLOAD [--threads N] [--seconds S] [--steps K] [--chunk-mib M] [--serial-chunks]`
/// (`--steps`: exactly K timed steps after the two warm-up steps, e.g. for instruction counts under
/// callgrind; `--chunk-mib`: the inference chunks' activation budget in MiB, 0 for whole batches; the
/// model's default otherwise; `--serial-chunks`: chunks one after another, all threads on each).
/// Workloads match Scripts/bench_torch.py: train-resnet56-28, train-resnet18-224, train-resnet34-224,
/// eval-resnet34-224-b1, eval-resnet34-224-b64, eval-mobilenet_v2-224-b1, eval-mobilenet_v2-224-b64,
/// eval-resnet20-28-b64, train-resnet20-28.
struct Workload {
    var arch: Architecture
    var inChannels: Int, side: Int, classes: Int, batch: Int
    var train: Bool

    init?(_ name: String) {
        let parts = name.split(separator: "-").map(String.init)
        guard parts.count >= 3, let a = Architecture(rawValue: parts[1]), let side = Int(parts[2]) else { return nil }
        arch = a; self.side = side
        train = parts[0] == "train"
        inChannels = a.isCifarStyle ? 1 : 3
        classes = a.isCifarStyle ? 10 : 1000
        if train { batch = a.isCifarStyle ? 64 : 16 } else { batch = parts.count > 3 ? Int(parts[3].dropFirst())! : 1 }
    }
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

let args = CommandLine.arguments
guard args.count >= 2, let parsed = Workload(args[1]) else {
    FileHandle.standardError.write("usage: engine-bench WORKLOAD [--threads N] [--seconds S] [--steps K] [--chunk-mib M] [--serial-chunks]\n".data(using: .utf8)!)
    exit(2)
}
nonisolated(unsafe) let w = parsed
var seconds = 10.0
if let i = args.firstIndex(of: "--threads"), i + 1 < args.count { Threads.count = Int(args[i + 1])! }
if let i = args.firstIndex(of: "--seconds"), i + 1 < args.count { seconds = Double(args[i + 1])! }
var fixedSteps: Int? = nil
if let i = args.firstIndex(of: "--steps"), i + 1 < args.count {
    guard let k = Int(args[i + 1]), k >= 1 else {
        FileHandle.standardError.write("engine-bench: --steps expects a positive integer, got '\(args[i + 1])'\n".data(using: .utf8)!)
        exit(2)
    }
    fixedSteps = k
}

nonisolated(unsafe) let model = w.arch.make(inChannels: w.inChannels, numClasses: w.classes, seed: 0)
var g = SeededGenerator(seed: 1)
nonisolated(unsafe) let x = Tensor((0..<(w.batch * w.inChannels * w.side * w.side)).map { _ in g.nextGaussian() }, shape: [w.batch, w.inChannels, w.side, w.side])
nonisolated(unsafe) let labels = (0..<w.batch).map { $0 % w.classes }
nonisolated(unsafe) let opt = SGD(parameters: model.namedParameters().map(\.parameter), learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
if w.train { model.train() } else { model.prepareForInference() }
if let i = args.firstIndex(of: "--chunk-mib"), i + 1 < args.count {
    guard let mib = Int(args[i + 1]), mib >= 0 else {
        FileHandle.standardError.write("engine-bench: --chunk-mib expects a non-negative integer, got '\(args[i + 1])'\n".data(using: .utf8)!)
        exit(2)
    }
    model.inferenceChunking = mib == 0 ? .off : InferenceChunking(activationBudgetBytes: mib << 20)
}
if args.contains("--serial-chunks") { model.inferenceChunking.concurrentChunks = false }

func step() {
    if w.train {
        let loss = crossEntropy(model(x), targets: labels)
        loss.backward()
        opt.step()
        opt.zeroGrad()
    } else {
        _ = Autograd.noGrad { model(x) }
    }
}

step(); step()   // warm-up
var times: [Double] = []
let start = Date()
let cpuStart = clock()   // process CPU time: comparable between runs on a busy machine
while fixedSteps.map({ times.count < $0 })
    ?? (times.count < 3 || (Date().timeIntervalSince(start) < seconds && times.count < 200)) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    step()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
}
let cpuMs = Double(clock() - cpuStart) * 1000 / Double(CLOCKS_PER_SEC) / Double(times.count)
let median = times.sorted()[times.count / 2]
let simd = String(cString: pk_simd_level_name(pk_simd_level()))
print(String(format: "{\"workload\": \"%@\", \"engine\": \"practise\", \"simd\": \"%@\", \"threads\": %d, \"ms_per_iter\": %.3f, \"throughput_img_s\": %.2f, \"iters\": %d, \"peak_rss_mb\": %.1f, \"cpu_ms_per_iter\": %.3f}",
             args[1], simd, Threads.count, median, Double(w.batch) * 1000 / median, times.count, peakRSSMegabytes(), cpuMs))
