import ArgumentParser
import Engine
import Practise

@main
struct PractiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "practise",
        abstract: "Make a trained CNN faster with a tiny set of images (PRACTISE, Wang & Wu, CVPR 2023).",
        discussion: """
        Drops whole residual blocks chosen by recoverability, then finetunes the pruned network by \
        feature mimicking. Everything runs on the CPU. Start with `practise demo`.
        """,
        version: ToolVersion.string,
        subcommands: [DemoCommand.self, BlocksCommand.self, AnalyzeCommand.self, CompressCommand.self, SynthesizeCommand.self,
                      EvalCommand.self, LatencyCommand.self, LatencyTableCommand.self, TrainCommand.self, ExportCommand.self, InspectCommand.self]
    )
}
