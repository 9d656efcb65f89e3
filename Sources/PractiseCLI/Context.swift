import Engine
import Foundation
import SafeFiles
import ImageData
import NN
import Practise

/// A network ready to use, with where it came from.
struct ResolvedModel {
    var spec: ModelSpec
    var model: ClassifierModel
    /// The weights argument as given ("bundled", a path, or "random init").
    var weightsLabel: String
    var loaded: LoadedWeights?
}

enum Context {
    /// Builds the model from --model/--weights and metadata, loading weights strictly.
    static func model(_ o: ModelOptions, seed: UInt64, requireWeights: Bool) throws -> ResolvedModel {
        var loaded: LoadedWeights?
        var label = "random init"
        if let w = o.weights {
            let path: String
            if w == "bundled" {
                guard let name = o.model else { throw PractiseError("--weights bundled needs --model resnet20 or --model resnet56") }
                path = try BundledAssets.teacherPath(model: name.rawValue)
            } else {
                path = w
            }
            guard FileManager.default.fileExists(atPath: path) else { throw PractiseError("weights file not found: \(path)") }
            guard isRegularFile(path) else { throw PractiseError("\(path) is not a regular file; expected a .safetensors or .pth file") }
            loaded = try WeightsIO.load(path)
            label = w == "bundled" ? "bundled:\(o.model!.rawValue)" : w
        } else if requireWeights {
            throw PractiseError("this command needs --weights FILE (or --weights bundled with --model resnet20|resnet56)")
        }
        var arch: Architecture?
        var dropped = loaded?.droppedBlocks ?? []
        if let a = o.model {
            arch = a
        } else if let a = loaded?.architecture {
            arch = a
        } else if let loaded, let m = ArchitectureMatcher.match(keys: Set(loaded.tensors.keys)) {
            arch = m.architecture
            if dropped.isEmpty { dropped = m.droppedBlocks }
        }
        guard let arch else {
            throw PractiseError(loaded == nil ? "--model is required" : "\(loaded!.path): keys match no known architecture; pass --model")
        }
        if let meta = loaded?.architecture, meta != arch {
            throw PractiseError("\(loaded!.path) holds a \(meta.rawValue), not a \(arch.rawValue)")
        }
        let inferred: (inChannels: Int?, numClasses: Int?) = loaded.map { ArchitectureMatcher.shapes(of: $0.tensors) } ?? (nil, nil)
        let spec = ModelSpec(architecture: arch,
                             inChannels: o.inChannels ?? loaded?.inChannels ?? inferred.inChannels,
                             numClasses: o.numClasses ?? loaded?.numClasses ?? inferred.numClasses,
                             droppedBlocks: dropped, innerWidths: try loaded?.innerWidths() ?? [:])
        let model: ClassifierModel
        do { model = try spec.buildChecked(seed: seed) } catch {
            throw PractiseError("\(loaded?.path ?? "model"): \(error)")
        }
        if let loaded {
            do { try model.load(stateDict: loaded.tensors) } catch {
                throw PractiseError("\(loaded.path): \(error)")
            }
        }
        model.eval()
        return ResolvedModel(spec: spec, model: model, weightsLabel: label, loaded: loaded)
    }

    /// The model's input for `dataset` of kind `spec` and how its images reach it (``ModelInput``,
    /// the one rule of every command that reads images): the model's channels; the side from
    /// `--image-size`, the weights' metadata, the data or the architecture; the normalisation from
    /// `--mean/--std`, else the weights' metadata, else the data's default, which converted data
    /// cannot use for trained weights. `conversion` is nil when the data's own transforms already fit.
    static func modelInput(_ d: DataOptions, model m: ResolvedModel, dataset: any Dataset, spec: DataSpec,
                           option: String = "--data") throws -> (input: ModelInput, conversion: InputConversion?) {
        let side = try ModelInput.side(explicit: d.imageSize, weights: m.loaded, data: dataset, spec: spec, architecture: m.spec.architecture)
        let recorded = try normalization(mean: d.mean, std: d.std, weights: m.loaded)
        let input = ModelInput(channels: m.spec.inChannels, side: side, normalization: recorded ?? dataset.defaultNormalization)
        let conversion = try input.conversion(for: dataset, spec: spec)
        // A trained network's images must be normalised as it was trained; a new one (train, no
        // weights) may take its data's default.
        if conversion != nil && recorded == nil && m.loaded != nil {
            throw PractiseError("\(option) \(spec): its images are converted to the model's input (\(input)), but \(m.weightsLabel) records no normalisation to give them; pass --mean and --std (the values the model was trained with)")
        }
        if input.normalization.perChannel(m.spec.inChannels) == nil {
            let origin = d.mean != nil ? "--mean/--std give" : recorded != nil ? "\(m.weightsLabel) records" : "the default normalisation of \(dataset.name) has"
            throw PractiseError("\(origin) \(input.normalization.mean.count) values but the model takes \(m.spec.inChannels)-channel images; give --mean and --std with one value or \(m.spec.inChannels)")
        }
        return (input, conversion)
    }

    /// --mean/--std (checked: finite, std >= Limits.minStd, as many of each), else the weights' metadata, else nil.
    static func normalization(mean m: String?, std s: String?, weights: LoadedWeights?) throws -> Normalization? {
        if m != nil || s != nil {
            guard let m, let s else { throw PractiseError("give both --mean and --std, or neither") }
            let mean = try Check.numbers("--mean", m), std = try Check.numbers("--std", s)
            guard mean.count == std.count else {
                throw PractiseError("--mean has \(mean.count) values but --std has \(std.count); give one per channel (or one for all)")
            }
            if let bad = std.first(where: { $0 < Limits.minStd }) { throw PractiseError("--std values must be at least \(Limits.minStd), got \(bad)") }
            return Normalization(mean: mean, std: std)
        }
        if let n = weights?.normalization { return Normalization(mean: n.mean, std: n.std) }
        return nil
    }

    /// Checks the data's labels fit the model's outputs (its images are converted by ``modelInput``).
    static func checkClasses(_ dataset: any Dataset, _ spec: ModelSpec) throws {
        if dataset.classCount != spec.numClasses {
            throw PractiseError("\(dataset.name) has \(dataset.classCount) classes but the model has \(spec.numClasses) outputs (--num-classes)")
        }
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String?) throws {
        guard let path else { return }
        try OutputFile.writeJSON(value, to: path)
    }

    /// Fails when an evaluation saw non-finite logits: such a model has no accuracy to report.
    static func requireFinite(_ acc: Accuracy, of what: String) throws {
        if let problem = acc.nonFiniteProblem(of: what) { throw PractiseError(problem) }
    }
}

/// Files committed under `Assets/`.
enum BundledAssets {
    static func teacherPath(model: String) throws -> String {
        let root = try AssetLocator.locate(containing: "teachers")
        let path = (root as NSString).appendingPathComponent("teachers/\(model.lowercased())-fashion-mnist.safetensors")
        guard FileManager.default.fileExists(atPath: path) else {
            throw PractiseError("no bundled teacher for '\(model)' (bundled: resnet20, resnet56; looked for \(path))")
        }
        return path
    }
}
