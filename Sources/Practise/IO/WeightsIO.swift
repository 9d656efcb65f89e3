import Checkpoint
import Engine
import Foundation
import NN

/// Metadata keys written into every safetensors file the tool produces.
public enum MetadataKey {
    public static let architecture = "practise.architecture"
    public static let inChannels = "practise.in_channels"
    public static let numClasses = "practise.num_classes"
    public static let droppedBlocks = "practise.dropped_blocks"
    public static let seed = "practise.seed"
    public static let version = "practise.version"
    public static let mean = "practise.normalization.mean"
    public static let std = "practise.normalization.std"
    /// Side of the square input the model was trained or compressed at (``ModelInput``).
    public static let imageSize = "practise.image_size"
    public static let recipe = "practise.recipe"
    public static let top1 = "practise.top1"
    /// Filter-pruned models: JSON object, inner-channel site (conv path) → channels kept.
    public static let innerWidths = "practise.inner_widths"
    /// Filter-pruned models: JSON object, inner-channel site → the teacher's filter indices kept.
    public static let keptChannels = "practise.kept_channels"
    /// Weights of a network imported from ONNX: the source file's name.
    public static let importedFrom = "practise.imported_from"
}

public enum ToolVersion { public static let string = "0.1.0" }

/// A checkpoint read from disk: tensors, metadata and what the metadata says about the model.
public struct LoadedWeights {
    public var path: String
    public var tensors: [String: Tensor]
    public var metadata: [String: String]
    /// Blocks dropped from the base architecture (metadata or a `.pth` checkpoint's `rm_blocks`).
    public var droppedBlocks: [String]

    public init(path: String, tensors: [String: Tensor], metadata: [String: String], droppedBlocks: [String] = []) {
        self.path = path; self.tensors = tensors; self.metadata = metadata; self.droppedBlocks = droppedBlocks
    }

    public var architecture: Architecture? { metadata[MetadataKey.architecture].flatMap(Architecture.init(rawValue:)) }
    /// Inner widths of a filter-pruned model (empty otherwise); throws on malformed metadata.
    public func innerWidths() throws -> [String: Int] {
        guard let text = metadata[MetadataKey.innerWidths], !text.isEmpty else { return [:] }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw PractiseError("\(path): metadata \(MetadataKey.innerWidths) is not a JSON object: \(text.prefix(80))")
        }
        var out: [String: Int] = [:]
        for (k, v) in obj {
            guard let n = v as? Int else { throw PractiseError("\(path): metadata \(MetadataKey.innerWidths)[\(k)] is not an integer") }
            out[k] = n
        }
        return out
    }
    public var inChannels: Int? { metadata[MetadataKey.inChannels].flatMap { Int($0) } }
    /// The input side recorded at training/compression time, if any; throws when it is not a
    /// positive integer.
    public func imageSide() throws -> Int? {
        guard let text = metadata[MetadataKey.imageSize] else { return nil }
        guard let side = Int(text), side > 0 else {
            throw PractiseError("\(path): metadata \(MetadataKey.imageSize) must be a positive integer, got '\(text.prefix(40))'")
        }
        return side
    }
    public var numClasses: Int? { metadata[MetadataKey.numClasses].flatMap { Int($0) } }
    /// Normalisation recorded at training/compression time, if any.
    public var normalization: (mean: [Float], std: [Float])? {
        guard let m = metadata[MetadataKey.mean], let s = metadata[MetadataKey.std] else { return nil }
        let mean = m.split(separator: ",").compactMap { Float($0) }, std = s.split(separator: ",").compactMap { Float($0) }
        return mean.isEmpty || mean.count != std.count ? nil : (mean, std)
    }
}

public enum WeightsIO {
    /// Reads a `.pth` (PyTorch zip) or `.safetensors` file.
    public static func load(_ path: String) throws -> LoadedWeights {
        let dict = try Checkpoint.load(URL(fileURLWithPath: path))
        var tensors: [String: Tensor] = [:]
        for (k, r) in dict.tensors { tensors[k] = Tensor(r.values, shape: r.shape) }
        var dropped = dict.metadata[MetadataKey.droppedBlocks].map { $0.split(separator: ",").map(String.init) } ?? []
        if dropped.isEmpty, let rm = dict.rmBlocks { dropped = rm }
        return LoadedWeights(path: path, tensors: tensors, metadata: dict.metadata, droppedBlocks: dropped)
    }

    /// Metadata describing `spec` (architecture, channels, classes, dropped blocks) plus `extra`.
    public static func metadata(for spec: ModelSpec, extra: [String: String] = [:]) -> [String: String] {
        var m: [String: String] = [
            MetadataKey.architecture: spec.architecture.rawValue,
            MetadataKey.inChannels: String(spec.inChannels),
            MetadataKey.numClasses: String(spec.numClasses),
            MetadataKey.droppedBlocks: spec.droppedBlocks.joined(separator: ","),
            MetadataKey.version: ToolVersion.string,
        ]
        if !spec.innerWidths.isEmpty { m[MetadataKey.innerWidths] = jsonObject(spec.innerWidths) }
        for (k, v) in extra { m[k] = v }
        return m
    }

    /// Writes the model's `state_dict` (torchvision keys, float32) as safetensors, atomically.
    public static func save(_ model: Module, spec: ModelSpec, to path: String, extra: [String: String] = [:]) throws {
        try save(model, metadata: metadata(for: spec, extra: extra), to: path)
    }

    /// Metadata describing an imported network (source file, channels, classes, dropped blocks) plus `extra`.
    public static func metadata(for spec: ImportedNetworkSpec, extra: [String: String] = [:]) -> [String: String] {
        var m: [String: String] = [
            MetadataKey.importedFrom: (spec.path as NSString).lastPathComponent,
            MetadataKey.inChannels: String(spec.imageShape[0]),
            MetadataKey.numClasses: String(spec.numClasses),
            MetadataKey.droppedBlocks: spec.droppedBlocks.joined(separator: ","),
            MetadataKey.version: ToolVersion.string,
        ]
        for (k, v) in extra { m[k] = v }
        return m
    }

    /// Writes the model's `state_dict` (float32) with `metadata` as safetensors, atomically.
    public static func save(_ model: Module, metadata: [String: String], to path: String) throws {
        var dict = StateDict(tensors: [:], order: [], metadata: metadata)
        for (k, t) in model.stateDict() {
            dict.set(k, TensorRecord(shape: t.shape, sourceDType: .f32, values: t.array))
        }
        try SafeTensors.write(dict, to: URL(fileURLWithPath: path))
    }

    /// A compact JSON object with sorted keys (for metadata values).
    public static func jsonObject<T: Encodable>(_ value: [String: T]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Formats normalisation values for metadata (`"0.286"` or `"0.485,0.456,0.406"`).
    public static func joined(_ values: [Float]) -> String { values.map { String($0) }.joined(separator: ",") }
}
