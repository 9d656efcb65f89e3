import Checkpoint
import Engine
import Foundation
import ImageData
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
    /// The metadata, parsed and checked on its own (``WeightsMetadata``).
    public var info: WeightsMetadata
    /// Blocks dropped from the base architecture (metadata or a `.pth` checkpoint's `rm_blocks`).
    public var droppedBlocks: [String]

    /// Weights in memory; `metadata` is parsed and checked as ``WeightsIO/load(_:)`` does.
    public init(path: String, tensors: [String: Tensor], metadata: [String: String], droppedBlocks: [String] = []) throws {
        self.path = path; self.tensors = tensors; self.droppedBlocks = droppedBlocks
        info = try WeightsMetadata(parsing: metadata, file: path)
    }

    init(path: String, tensors: [String: Tensor], info: WeightsMetadata, droppedBlocks: [String]) {
        self.path = path; self.tensors = tensors; self.info = info; self.droppedBlocks = droppedBlocks
    }

    public var metadata: [String: String] { info.raw }
    public var architecture: Architecture? { info.architecture }
    public var inChannels: Int? { info.inChannels }
    public var numClasses: Int? { info.numClasses }
    /// Inner widths of a filter-pruned model (empty otherwise).
    public var innerWidths: [String: Int] { info.innerWidths }
    /// The input side recorded at training/compression time, if any (checked at load).
    public func imageSide() throws -> Int? { info.imageSize }
    /// Normalisation recorded at training/compression time, if any.
    public var normalization: Normalization? { info.normalization }
}

/// A weights file whose tensors no network should run: NaN or infinite values, or BatchNorm
/// variances below zero.
public struct WeightsValueError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

public enum WeightsIO {
    /// Reads a `.pth` (PyTorch zip) or `.safetensors` file, checking its metadata
    /// (``WeightsMetadata``) and its values (``checkValues(_:file:)``).
    public static func load(_ path: String) throws -> LoadedWeights {
        let dict = try Checkpoint.load(URL(fileURLWithPath: path))
        let info = try WeightsMetadata(parsing: dict.metadata, file: path)
        var tensors: [String: Tensor] = [:]
        for (k, r) in dict.tensors { tensors[k] = Tensor(r.values, shape: r.shape) }
        try checkValues(tensors, file: path)
        var dropped = info.droppedBlocks
        if dropped.isEmpty, let rm = dict.rmBlocks { dropped = rm }
        return LoadedWeights(path: path, tensors: tensors, info: info, droppedBlocks: dropped)
    }

    /// Refuses tensors holding NaN or infinity (each named with its count) and BatchNorm
    /// `running_var` tensors with negative entries: such a network's outputs mean nothing.
    public static func checkValues(_ tensors: [String: Tensor], file: String) throws {
        var nonFinite: [String] = [], negativeVariance: [String] = []
        for key in tensors.keys.sorted() {
            let t = tensors[key]!, p = t.pointer
            var bad = 0, negative = 0, firstNegative: Float = 0
            for i in 0..<t.count {
                if !p[i].isFinite { bad += 1 } else if p[i] < 0 { if negative == 0 { firstNegative = p[i] }; negative += 1 }
            }
            if bad > 0 { nonFinite.append("\(key) (\(bad) of \(t.count) values)") }
            if key.hasSuffix("running_var"), negative > 0 {
                negativeVariance.append("\(key) (\(negative) of \(t.count) entries, e.g. \(firstNegative))")
            }
        }
        func listed(_ items: [String]) -> String { items.prefix(5).joined(separator: ", ") + (items.count > 5 ? " and \(items.count - 5) more" : "") }
        if !nonFinite.isEmpty {
            throw WeightsValueError(description: "\(file): \(nonFinite.count) \(nonFinite.count == 1 ? "tensor holds" : "tensors hold") NaN or infinity: \(listed(nonFinite)); such weights have no meaningful output (a diverged training?)")
        }
        if !negativeVariance.isEmpty {
            throw WeightsValueError(description: "\(file): BatchNorm variance below zero in \(listed(negativeVariance)); a running variance is never negative, so the file is damaged or was not written by a training run")
        }
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
        try SafeTensors.write(dict, toPath: path)
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
