import ArgumentParser
import Engine
import Foundation
import NN
import Practise

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "Compress the bundled Fashion-MNIST teacher with the bundled tiny set, end to end (a few minutes on 2 cores).")

    @Option(help: "Bundled teacher: resnet20 or resnet56.") var model: String = "resnet20"
    @Option(help: "Tiny-set data (any --data spec, e.g. images:DIR or synthetic:N).") var data: String = "bundled"
    @Option(help: "Evaluation data (default: --data; bundled with --data-free).") var evalData: String?
    @Option(help: "Tiny-set size.") var numSamples: Int = 100
    @Flag(help: "Data-free: synthesise the tiny set from the teacher (--data synthetic:N, DeepInversion), evaluate on the bundled test subset.") var dataFree = false
    @Option(help: "With --data-free: synthesis iterations per batch.") var synthesisIterations: Int = 200
    @Option(help: "Analysis iterations.") var analysisIterations: Int = 100
    @Option(help: "Finetuning iterations.") var finetuneIterations: Int = 300
    @Option(help: "Blocks to drop.") var drop: Int = 2
    @Option(help: "Output folder.") var out: String = "practise-demo"
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        if dataFree && data != "bundled" { throw ValidationError("--data-free makes its own tiny set; leave out --data") }
        let tiny = dataFree ? "synthetic:\(numSamples)" : data
        var args = ["--model", model, "--weights", "bundled", "--data", tiny, "--num-samples", String(numSamples),
                    "--analysis-iterations", String(analysisIterations), "--finetune-iterations", String(finetuneIterations),
                    "--drop", String(drop), "--out", out, "--force"]
        if let evalData { args += ["--eval-data", evalData] } else if dataFree { args += ["--eval-data", "bundled"] }
        if dataFree { args += ["--synthesis-iterations", String(synthesisIterations)] }
        if let threads { args += ["--threads", String(threads)] }
        say("practise compress " + args.joined(separator: " ") + "\n")
        let command = try CompressCommand.parse(args)
        try command.run()
    }
}
