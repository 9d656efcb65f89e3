import ArgumentParser
import Engine
import Foundation
import NN
import Practise

/// Which network: architecture, shape overrides and weights.
struct ModelOptions: ParsableArguments {
    @Option(help: "Architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")). Taken from the weights' metadata when omitted.")
    var model: String?

    @Option(help: "Input channels (default 3 for torchvision models, 1 for CIFAR-style; or from the weights' metadata).")
    var inChannels: Int?

    @Option(help: "Number of classes (default 1000 / 10; or from the weights' metadata).")
    var numClasses: Int?

    @Option(help: "Weights: a .safetensors or .pth file, or 'bundled' for the committed Fashion-MNIST teacher of --model.")
    var weights: String?
}

/// Where images come from.
struct DataOptions: ParsableArguments {
    @Option(help: "Data: bundled, fashion-mnist, idx:DIR, mnist:DIR, cifar10:DIR, cifar100:DIR, imagefolder:DIR, images:DIR (unlabelled), synthetic:N. The tiny set comes from its train split.")
    var data: String = "bundled"

    @Option(help: "Evaluation data (same kinds, labelled; default: --data). It also fixes the teacher's input size; tiny-set images of another source are converted to it.")
    var evalData: String?

    @Option(help: "Split of the evaluation data: train or test.")
    var split: String = "test"

    @Option(help: "Normalisation mean, comma-separated (default: the dataset's, or the weights' metadata).")
    var mean: String?

    @Option(help: "Normalisation std, comma-separated.")
    var std: String?

    @Flag(help: "Skip undecodable images in ImageFolder data (counted) instead of failing.")
    var skipBadImages = false
}

/// Seed, threads and machine-readable output.
struct RunOptions: ParsableArguments {
    @Option(help: "Seed of every random choice (sampling, augmentation, initialisation).")
    var seed: UInt64 = 2021

    @Option(help: "Threads (default: PRACTISE_THREADS or all cores).")
    var threads: Int?

    @Option(help: "Also write the result as JSON to this file.")
    var json: String?

    func apply() {
        if let threads { Threads.count = threads }
    }
}

/// Training-phase hyper-parameters (reference defaults).
struct PhaseOptions: ParsableArguments {
    @Option(help: "Adaptor-training iterations per candidate in the analysis (reference: 2000; its README scores with 1000).")
    var analysisIterations: Int = 500

    @Option(help: "Finetuning iterations (reference: 2000).")
    var finetuneIterations: Int = 1000

    @Option(help: "Batch size of both phases (reference: 64).")
    var batchSize: Int = 64

    @Option(help: "Learning rate of both phases, SGD momentum 0.9, weight decay 1e-4, ×0.1 after 40% (reference: 0.02).")
    var lr: Float = 0.02

    @Option(help: "Save the analysis' adaptor training state every this many iterations (where a rerun resumes).")
    var checkpointEvery: Int = 50

    func validate() throws {
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1 (found \(checkpointEvery))") }
    }
}

/// The tiny training set.
struct SampleOptions: ParsableArguments {
    @Option(help: "Number of tiny-set images, drawn with --seed by the reference's rule (class, then image).")
    var numSamples: Int = 100

    @Option(help: "Take this many images of every class instead of --num-samples.")
    var perClass: Int?

    @Option(help: "Read the tiny set from a sample list (indices for IDX/CIFAR, relative paths for ImageFolder).")
    var samples: String?
}

/// Writes a line to stdout unbuffered, so tables and epoch lines appear as they are produced
/// even when stdout is a pipe or a file.
func say(_ text: String) {
    FileHandle.standardOutput.write((text + "\n").data(using: .utf8)!)
}
