import ArgumentParser
import Checkpoint
import Foundation
import NN
import Practise

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect",
        abstract: "List the tensors of a .pth or .safetensors file and the architecture its keys match, or the blocks and candidates of an ONNX model.")

    @Argument(help: "A .pth, .safetensors or .onnx file.") var file: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw PractiseError("file not found: \(file)") }
        guard isRegularFile(file) else { throw PractiseError("\(file) is not a regular file; expected a .pth, .safetensors or .onnx file") }
        if file.lowercased().hasSuffix(".onnx") {
            say(try ONNXImporter.load(path: file).summary())
            return
        }
        let dict = try Checkpoint.load(URL(fileURLWithPath: file))
        say(Checkpoint.describe(dict))
        if !dict.metadata.isEmpty {
            say("\nmetadata:")
            for (k, v) in dict.metadata.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
        }
        if let m = ArchitectureMatcher.match(keys: Set(dict.tensors.keys)) {
            say("\narchitecture: \(m.architecture.rawValue)" + (m.droppedBlocks.isEmpty ? "" : " with \(m.droppedBlocks.joined(separator: ", ")) dropped"))
        } else {
            say("\narchitecture: no known architecture matches these keys")
        }
    }
}
