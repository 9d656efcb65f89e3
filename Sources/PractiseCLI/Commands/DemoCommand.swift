import ArgumentParser
import Engine
import Foundation
import NN
import Practise
import SafeFiles

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "Compress the bundled Fashion-MNIST teacher with the bundled tiny set, end to end (a few minutes on 2 cores).",
        discussion: "Rerunning replaces the folder an earlier demo wrote (it holds \(DemoCommand.marker)); any other existing --out is refused unless --force.")

    @Option(help: "Bundled teacher: resnet20 or resnet56.") var model: Architecture = .resnet20
    @Option(help: "Tiny-set data (any --data spec, e.g. images:DIR or synthetic:N).") var data: String = "bundled"
    @Option(help: "Evaluation data (default: --data; bundled with --data-free).") var evalData: String?
    @Option(parsing: .unconditional, help: "Tiny-set size.") var numSamples: Int = 100
    @Flag(help: "Data-free: synthesise the tiny set from the teacher (--data synthetic:N, DeepInversion), evaluate on the bundled test subset.") var dataFree = false
    @Option(parsing: .unconditional, help: "With --data-free: synthesis iterations per batch.") var synthesisIterations: Int = 200
    @Option(parsing: .unconditional, help: "Analysis iterations.") var analysisIterations: Int = 100
    @Option(parsing: .unconditional, help: "Finetuning iterations.") var finetuneIterations: Int = 300
    @Option(parsing: .unconditional, help: "Blocks to drop.") var drop: Int = 2
    @Option(help: "Output folder.") var out: String = "practise-demo"
    @Flag(help: "Replace --out even if an earlier demo did not write it.") var force = false
    @OptionGroup var common: RunOptions
    @OptionGroup var schedule: AnalysisScheduleOptions

    /// The file that marks a folder as written by `practise demo`.
    static let marker = ".practise-demo"

    func validate() throws {
        guard model == .resnet20 || model == .resnet56 else { throw ValidationError("--model must be resnet20 or resnet56 (the bundled teachers), got \(model.rawValue)") }
        _ = try schedule.halving(iterations: analysisIterations, selection: .count(drop))
        if dataFree && data != "bundled" { throw ValidationError("--data-free makes its own tiny set; leave out --data") }
        // The demo is a compress run: its options are checked as compress checks them, before
        // anything runs, and a refusal is the demo's (with the demo's usage, not compress's).
        do { _ = try CompressCommand.parse(compressArguments(replace: false)) } catch {
            throw ValidationError(CompressCommand.message(for: error))
        }
    }

    /// The `compress` command line this demo runs; `replace` adds `--force` (an earlier demo's folder).
    func compressArguments(replace: Bool) -> [String] {
        let tiny = dataFree ? "synthetic:\(numSamples)" : data
        var args = ["--model", model.rawValue, "--weights", "bundled", "--data", tiny, "--num-samples", String(numSamples),
                    "--analysis-iterations", String(analysisIterations), "--finetune-iterations", String(finetuneIterations),
                    "--drop", String(drop), "--out", out, "--seed", String(common.seed)] + schedule.arguments
        if replace { args.append("--force") }
        if let evalData { args += ["--eval-data", evalData] } else if dataFree { args += ["--eval-data", "bundled"] }
        if dataFree { args += ["--synthesis-iterations", String(synthesisIterations)] }
        if let threads = common.threads { args += ["--threads", String(threads)] }
        if let json = common.json { args += ["--json", json] }
        return args
    }

    func run() throws {
        let fm = FileManager.default
        let markerPath = (out as NSString).appendingPathComponent(Self.marker)
        let replace = fm.fileExists(atPath: out) && (force || fm.fileExists(atPath: markerPath))
        if fm.fileExists(atPath: out) && !replace {
            throw PractiseError("\(out) already exists and was not written by practise demo; use another --out, or --force to replace it")
        }
        // A file the user added to an earlier demo's folder is theirs: replaced only with --force.
        if replace && !force, let other = WorkFolder.foreignEntry(in: out) {
            throw PractiseError("\(out) holds \(other), which practise demo does not write; move it, use another --out, or --force to replace the folder")
        }
        let args = compressArguments(replace: replace)
        say("practise compress " + args.joined(separator: " ") + "\n")
        let command = try CompressCommand.parse(args)
        try command.run()
        try OutputFile.write("written by practise demo; a later demo may replace this folder\n", to: markerPath)
    }
}
