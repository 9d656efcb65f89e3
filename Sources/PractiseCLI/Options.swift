import ArgumentParser
import Engine
import Foundation
import ImageData
import NN
import Practise
import SafeFiles

// Choices are types: the parser refuses anything else and lists the valid values.
extension Architecture: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension Split: ExpressibleByArgument {}
extension FinetuneMethod: ExpressibleByArgument {
    public init?(argument: String) { self.init(caseInsensitive: argument) }
}
extension ChannelRecovery: ExpressibleByArgument {
    public init?(argument: String) { self.init(caseInsensitive: argument) }
}
extension CompressionScheme: ExpressibleByArgument {}
extension SynthesisSettings.Variant: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// What `--weights` names.
enum WeightsSource: Equatable {
    /// The committed Fashion-MNIST teacher of `--model`.
    case bundled
    /// A `.safetensors` or `.pth` checkpoint of a zoo architecture.
    case checkpoint(String)
    /// An ONNX model: the network and its weights (``ImportedNetworkSpec``).
    case onnx(String)

    init(_ argument: String) {
        if argument == "bundled" { self = .bundled }
        else if argument.lowercased().hasSuffix(".onnx") { self = .onnx(argument) }
        else { self = .checkpoint(argument) }
    }
}

/// Which network: architecture, shape overrides and weights.
struct ModelOptions: ParsableArguments {
    @Option(help: "Architecture. Taken from the weights' metadata when omitted; not with an ONNX --weights, which carries its own network.")
    var model: Architecture?

    @Option(parsing: .unconditional, help: "Input channels, \(Limits.inChannels) (default 3 for torchvision models, 1 for CIFAR-style; or from the weights' metadata).")
    var inChannels: Int?

    @Option(parsing: .unconditional, help: "Number of classes, \(Limits.numClasses) (default 1000 / 10; or from the weights' metadata).")
    var numClasses: Int?

    @Option(help: "Weights: a .safetensors or .pth file, 'bundled' for the committed Fashion-MNIST teacher of --model, or an .onnx model (network and weights; no --model).")
    var weights: String?

    /// `--weights` by kind.
    var source: WeightsSource? { weights.map(WeightsSource.init) }

    func validate() throws {
        try Check.range("--in-channels", inChannels, Limits.inChannels)
        try Check.range("--num-classes", numClasses, Limits.numClasses)
        if case .onnx(let w)? = source, let model {
            throw ValidationError("--model \(model.rawValue) and --weights \(w) exclude each other: an ONNX model carries its own network (--model names one of the zoo's)")
        }
        if let w = weights {
            if w == "bundled" {
                guard model == .resnet20 || model == .resnet56 else { throw ValidationError("--weights bundled needs --model resnet20 or --model resnet56") }
            } else if !FileManager.default.fileExists(atPath: w) {
                throw ValidationError("weights file not found: \(w)")
            } else if Check.isDirectory(w) {
                throw ValidationError("--weights \(w) is a directory; expected a .safetensors, .pth or .onnx file")
            } else if !isRegularFile(w) {
                throw ValidationError("--weights \(w) is not a regular file (a device, FIFO or socket); expected a .safetensors, .pth or .onnx file")
            }
        }
    }
}

func isRegularFile(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
}

/// Where images come from.
struct DataOptions: ParsableArguments {
    @Option(help: "Data: bundled, fashion-mnist, idx:DIR, mnist:DIR, cifar10:DIR, cifar100:DIR, imagefolder:DIR, images:DIR (unlabelled), synthetic:N. The tiny set comes from its train split.")
    var data: String = "bundled"

    @Option(help: "Evaluation data (same kinds, labelled; default: --data). It also fixes the teacher's input size; tiny-set images of another source are converted to it.")
    var evalData: String?

    @Option(help: "Split of the evaluation data.")
    var split: Split = .test

    @Option(parsing: .unconditional, help: "Normalisation mean, comma-separated finite numbers (default: the dataset's, or the weights' metadata).")
    var mean: String?

    @Option(parsing: .unconditional, help: "Normalisation std, comma-separated, each at least \(Limits.minStd).")
    var std: String?

    @Option(parsing: .unconditional, help: "Side of the model's square input, \(Limits.imageSide) (default: the weights' metadata, else the size of IDX/CIFAR images, else 28 for CIFAR-style ResNets, 224 otherwise). Images of another size or channel count are converted to it.")
    var imageSize: Int?

    @Flag(help: "Skip undecodable images in ImageFolder data (counted) instead of failing.")
    var skipBadImages = false

    /// `--mean`/`--std` as numbers, or nil when neither is given.
    func normalization() throws -> (mean: [Float], std: [Float])? {
        switch (mean, std) {
        case (nil, nil): return nil
        case (.some, nil), (nil, .some): throw ValidationError("give both --mean and --std, or neither")
        case let (m?, s?):
            let mean = try Check.numbers("--mean", m), std = try Check.numbers("--std", s)
            guard mean.count == std.count else {
                throw ValidationError("--mean has \(mean.count) values but --std has \(std.count); give one per channel (or one for all)")
            }
            if let bad = std.first(where: { $0 < Limits.minStd }) {
                throw ValidationError("--std values must be at least \(Limits.minStd), got \(bad)")
            }
            return (mean, std)
        }
    }

    func validate() throws {
        _ = try normalization()
        try Check.range("--image-size", imageSize, Limits.imageSide)
    }
}

/// Seed, threads and machine-readable output.
struct RunOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Seed of every random choice (sampling, augmentation, initialisation), 0 to 2^64 − 1.")
    var seed: UInt64 = 2021

    @Option(parsing: .unconditional, help: "Threads, 1 to \(Limits.threadsPerCore)× the cores (default: PRACTISE_THREADS or all cores).")
    var threads: Int?

    @Option(help: "Also write the result as JSON to this file ('-': standard output, the tables then go to standard error).")
    var json: String?

    func validate() throws {
        try EngineEnvironment.check()
        try Check.range("--threads", threads, Limits.threads, unit: " (\(Limits.threadsPerCore) × \(Limits.cores) cores)")
        try Check.outputFile("--json", json)
    }

    func apply() {
        if let threads {
            Threads.count = threads
            if threads > Limits.cores {
                warn("note: --threads \(threads) is more than the \(Limits.cores) cores; latency figures will suffer")
            }
        }
        Console.tablesToStandardError = json == OutputFile.standardOutput
    }
}

/// Training-phase hyper-parameters (reference defaults).
struct PhaseOptions: ParsableArguments {
    @Option(name: .customLong("analysis-iterations"), parsing: .unconditional,
            help: "Adaptor-training iterations per candidate in the analysis (default \(Self.defaultAnalysisIterations); reference: 2000; its README scores with 1000).")
    var analysisIterationsGiven: Int?

    @Option(name: .customLong("finetune-iterations"), parsing: .unconditional,
            help: "Finetuning iterations (default \(Self.defaultFinetuneIterations); reference: 2000).")
    var finetuneIterationsGiven: Int?

    @Option(parsing: .unconditional, help: "Batch size of both phases, 1 to \(Limits.maxBatch) (reference: 64); an explicit value above the tiny set's size is lowered to it.")
    var batchSize: Int?

    @Option(name: .customLong("lr"), parsing: .unconditional,
            help: "Learning rate of both phases (> 0, default \(Self.defaultLearningRate)), SGD momentum 0.9, weight decay 1e-4, ×0.1 after 40% (reference: 0.02).")
    var lrGiven: Float?

    @Option(name: .customLong("checkpoint-every"), parsing: .unconditional,
            help: "Save the analysis' adaptor training state every this many iterations (where a rerun resumes; default \(Self.defaultCheckpointEvery)).")
    var checkpointEveryGiven: Int?

    static let defaultAnalysisIterations = 500
    static let defaultFinetuneIterations = 1000
    static let defaultLearningRate: Float = 0.02
    static let defaultCheckpointEvery = 50

    var analysisIterations: Int { analysisIterationsGiven ?? Self.defaultAnalysisIterations }
    var finetuneIterations: Int { finetuneIterationsGiven ?? Self.defaultFinetuneIterations }
    var lr: Float { lrGiven ?? Self.defaultLearningRate }
    var checkpointEvery: Int { checkpointEveryGiven ?? Self.defaultCheckpointEvery }

    /// The options of this group, by what they set.
    enum Setting: String, CaseIterable {
        case analysisIterations = "--analysis-iterations", finetuneIterations = "--finetune-iterations"
        case lr = "--lr", checkpointEvery = "--checkpoint-every"
    }

    /// Whether `setting` was given on the command line (not left at its default).
    func isGiven(_ setting: Setting) -> Bool {
        switch setting {
        case .analysisIterations: return analysisIterationsGiven != nil
        case .finetuneIterations: return finetuneIterationsGiven != nil
        case .lr: return lrGiven != nil
        case .checkpointEvery: return checkpointEveryGiven != nil
        }
    }

    /// Refuses any of `settings` given on the command line: they would do nothing in this run
    /// (`context` says which run, `reason` why), and a setting silently ignored is a result the
    /// user did not ask for.
    func refuse(_ settings: [Setting], with context: String, because reason: String) throws {
        let given = settings.filter(isGiven).map(\.rawValue)
        guard !given.isEmpty else { return }
        let list = given.count == 1 ? given[0] : given.dropLast().joined(separator: ", ") + " and " + given.last!
        throw ValidationError("\(list) \(given.count == 1 ? "does" : "do") nothing with \(context): \(reason); leave \(given.count == 1 ? "it" : "them") out")
    }

    func validate() throws {
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1 (found \(checkpointEvery))") }
        try Check.range("--analysis-iterations", analysisIterations, Limits.iterations)
        try Check.range("--finetune-iterations", finetuneIterations, Limits.iterations)
        try Check.range("--batch-size", batchSize, 1...Limits.maxBatch)
        try Check.positive("--lr", lr)
    }

    static let defaultBatchSize = 64

    /// The batch size for a tiny set of `count` images: the default 64 as the reference uses it
    /// (images repeat within a batch when the set is smaller), an explicit value at most `count`.
    func batchSize(tinySet count: Int) -> Int {
        guard let b = batchSize else { return Self.defaultBatchSize }
        if b > count {
            warn("note: --batch-size \(b) is larger than the tiny set (\(count) images); using \(count)")
            return count
        }
        return b
    }
}

/// The tiny training set.
struct SampleOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Number of tiny-set images (default 100), drawn with --seed by the reference's rule (class, then image).")
    var numSamples: Int?

    @Option(parsing: .unconditional, help: "Take this many images of every class instead of --num-samples.")
    var perClass: Int?

    @Option(help: "Read the tiny set from a sample list (indices for IDX/CIFAR, relative paths for ImageFolder).")
    var samples: String?

    static let defaultCount = 100

    func validate() throws {
        try Check.atMostOne([("--num-samples", numSamples != nil), ("--per-class", perClass != nil), ("--samples", samples != nil)])
        try Check.range("--num-samples", numSamples, Limits.samples)
        try Check.range("--per-class", perClass, Limits.samples)
        if let s = samples, !isRegularFile(s) {
            throw ValidationError(FileManager.default.fileExists(atPath: s) ? "--samples \(s) is not a regular file" : "--samples \(s) does not exist")
        }
    }
}

/// Where human-readable output goes.
enum Console {
    /// Set when the JSON result goes to standard output (`--json -`).
    nonisolated(unsafe) static var tablesToStandardError = false
}

/// Writes a line to stdout unbuffered (stderr with `--json -`), so tables and epoch lines
/// appear as they are produced even when stdout is a pipe or a file.
func say(_ text: String) {
    (Console.tablesToStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(Data((text + "\n").utf8))
}

/// A note or warning on stderr.
func warn(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
