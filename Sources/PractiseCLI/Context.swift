import Engine
import Foundation
import SafeFiles
import ImageData
import NN
import Practise

/// A network ready to use, with where it came from.
struct ResolvedModel {
    /// What rebuilds it: a zoo architecture or an imported ONNX graph.
    var network: NetworkSpec
    var model: ClassifierModel
    /// The weights argument as given ("bundled", a path, or "random init").
    var weightsLabel: String
    /// The checkpoint of a zoo model loaded from one.
    var loaded: LoadedWeights?
    /// The file holding the weights (checkpoint or ONNX model); nil for a random initialisation.
    var weightsPath: String?
    /// The normalisation the file records (checkpoint metadata, or `metadata_props` of an ONNX
    /// file written by practise), if any.
    var recordedNormalization: Normalization?

    /// The zoo spec; commands that only build zoo architectures refuse an imported network here.
    func zooSpec(for command: String) throws -> ModelSpec {
        guard let s = network.zoo else {
            throw PractiseError("\(command) works on the zoo's architectures (--model); \(weightsLabel) is a network imported from ONNX")
        }
        return s
    }
}

enum Context {

    /// Says on stderr how many files `--skip-bad-images` left out of `dataset`, and the first.
    static func noteSkipped(_ dataset: any Dataset, option: String) {
        let skipped = dataset.skippedFiles
        guard let first = skipped.first else { return }
        warn("note: \(option) \(dataset.name): skipped \(skipped.count) undecodable image\(skipped.count == 1 ? "" : "s") (--skip-bad-images); the first, \(first.path): \(first.reason)")
    }
    /// Builds the model from --model/--weights and metadata, loading weights strictly. An ONNX
    /// `--weights` is imported with its own structure and weights (``ImportedNetworkSpec``);
    /// `imageSize` (the `--image-size` of a command that has one: `hasImageSizeOption`) sets the
    /// input side of a graph whose H and W are open, or overrides them.
    static func model(_ o: ModelOptions, seed: UInt64, requireWeights: Bool, imageSize: Int? = nil,
                      hasImageSizeOption: Bool = false) throws -> ResolvedModel {
        if case .onnx(let path)? = o.source {
            return try imported(path, options: o, imageSize: imageSize, advice: hasImageSizeOption
                                ? "give --image-size" : "export the model with a fixed input size (this command takes the size from the graph)")
        }
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
            guard isRegularFile(path) else { throw PractiseError("\(path) is not a regular file; expected a .safetensors, .pth or .onnx file") }
            loaded = try WeightsIO.load(path)
            label = w == "bundled" ? "bundled:\(o.model!.rawValue)" : w
            if let source = loaded?.metadata[MetadataKey.importedFrom] {
                throw PractiseError("\(path) holds the weights of a network imported from \(source) (under its PyTorch module names, for load_state_dict); give practise the ONNX model (a compressed network's is model.onnx beside it)")
            }
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
            throw PractiseError(loaded == nil ? "--model is required (or --weights model.onnx)" : "\(loaded!.path): keys match no known architecture; pass --model")
        }
        if let meta = loaded?.architecture, meta != arch {
            throw PractiseError("\(loaded!.path) holds a \(meta.rawValue), not a \(arch.rawValue)")
        }
        let needsShapes = (o.inChannels ?? loaded?.inChannels) == nil || (o.numClasses ?? loaded?.numClasses) == nil
        let inferred: (inChannels: Int?, numClasses: Int?) = needsShapes
            ? loaded.map { ArchitectureMatcher.shapes(of: $0.tensors, architecture: arch) } ?? (nil, nil) : (nil, nil)
        let spec = ModelSpec(architecture: arch,
                             inChannels: o.inChannels ?? loaded?.inChannels ?? inferred.inChannels,
                             numClasses: o.numClasses ?? loaded?.numClasses ?? inferred.numClasses,
                             droppedBlocks: dropped, innerWidths: loaded?.innerWidths ?? [:])
        let model: ClassifierModel
        do { model = try spec.makeBase(seed: seed) } catch {
            throw PractiseError("\(loaded?.path ?? "model"): \(error)")
        }
        try loaded?.info.check(against: model, spec: spec)
        do { try spec.apply(to: model, seed: seed) } catch {
            throw PractiseError("\(loaded?.path ?? "model"): \(error)")
        }
        if let loaded {
            do { try model.load(stateDict: loaded.tensors) } catch {
                throw PractiseError("\(loaded.path): \(error)")
            }
        }
        model.eval()
        return ResolvedModel(network: .zoo(spec), model: model, weightsLabel: label, loaded: loaded, weightsPath: loaded?.path,
                             recordedNormalization: loaded?.normalization)
    }

    /// An ONNX model imported as it is. Channels come from the graph input `[N, C, H, W]`,
    /// classes from the output `[N, classes]`, H and W from the graph (or `imageSize`);
    /// `--in-channels`/`--num-classes` may only repeat them.
    private static func imported(_ path: String, options o: ModelOptions, imageSize: Int?, advice: String) throws -> ResolvedModel {
        let (spec, net) = try ImportedNetworkSpec.load(path: path, imageSize: imageSize.map { ($0, $0) }, openSizeAdvice: advice)
        if let c = o.inChannels, c != spec.imageShape[0] {
            throw PractiseError("--in-channels \(c), but \(path) takes \(spec.imageShape[0])-channel images (its input '\(net.inputName)' is [N, \(spec.imageShape.map(String.init).joined(separator: ", "))])")
        }
        if let k = o.numClasses, k != spec.numClasses {
            throw PractiseError("--num-classes \(k), but \(path) has \(spec.numClasses) outputs (its output '\(net.outputName)' is [N, \(spec.numClasses)])")
        }
        net.eval()
        // practise.* metadata_props are read by the same checks as a checkpoint's metadata.
        let recorded = try WeightsMetadata(parsing: spec.source.metadata, file: path).normalization
        return ResolvedModel(network: .imported(spec), model: net, weightsLabel: path, loaded: nil, weightsPath: path, recordedNormalization: recorded)
    }

    /// The model's input for `dataset` of kind `spec` and how its images reach it (``ModelInput``,
    /// the one rule of every command that reads images): the model's channels; the side from
    /// `--image-size`, the weights' metadata, the data or the architecture; the normalisation from
    /// `--mean/--std`, else the weights' metadata, else the data's default, which converted data
    /// cannot use for trained weights. `conversion` is nil when the data's own transforms already fit.
    ///
    /// An imported network's side is its graph input's (which `--image-size` may only repeat or,
    /// for a graph that leaves H and W open, set: ``model(_:seed:requireWeights:imageSize:hasImageSizeOption:)``);
    /// without `--mean/--std` or a recorded normalisation it takes the data's default, with a note.
    static func modelInput(_ d: DataOptions, model m: ResolvedModel, dataset: any Dataset, spec: DataSpec,
                           option: String = "--data") throws -> (input: ModelInput, conversion: InputConversion?) {
        let side: Int
        switch m.network {
        case .zoo(let s):
            side = try ModelInput.side(explicit: d.imageSize, weights: m.loaded, data: dataset, spec: spec, architecture: s.architecture)
        case .imported(let s):
            guard s.imageShape[1] == s.imageShape[2] else {
                throw PractiseError("\(s.path) takes [\(s.imageShape.map(String.init).joined(separator: ", "))]; images reach a network only at a square input")
            }
            side = s.imageShape[1]
        }
        let recorded = try normalization(mean: d.mean, std: d.std, recorded: m.recordedNormalization)
        let channels = m.network.inChannels
        let input = ModelInput(channels: channels, side: side, normalization: recorded ?? dataset.defaultNormalization)
        let conversion = try input.conversion(for: dataset, spec: spec)
        if recorded == nil, case .imported = m.network, conversion == nil {
            warn("note: \(m.weightsLabel) records no normalisation; using \(dataset.name)'s default mean/std (give --mean/--std for the one the network was trained with)")
        }
        // A trained network's images must be normalised as it was trained; a new one (train, no
        // weights) may take its data's default.
        if conversion != nil && recorded == nil && m.weightsPath != nil {
            throw PractiseError("\(option) \(spec): its images are converted to the model's input (\(input)), but \(m.weightsLabel) records no normalisation to give them; pass --mean and --std (the values the model was trained with)")
        }
        if input.normalization.perChannel(channels) == nil {
            let origin = d.mean != nil ? "--mean/--std give" : recorded != nil ? "\(m.weightsLabel) records" : "the default normalisation of \(dataset.name) has"
            throw PractiseError("\(origin) \(input.normalization.mean.count) values but the model takes \(channels)-channel images; give --mean and --std with one value or \(channels)")
        }
        return (input, conversion)
    }

    /// --mean/--std (checked: finite, std >= Limits.minStd, as many of each), else the model file's record, else nil.
    static func normalization(mean m: String?, std s: String?, recorded: Normalization?) throws -> Normalization? {
        if m != nil || s != nil {
            guard let m, let s else { throw PractiseError("give both --mean and --std, or neither") }
            let mean = try Check.numbers("--mean", m), std = try Check.numbers("--std", s)
            guard mean.count == std.count else {
                throw PractiseError("--mean has \(mean.count) values but --std has \(std.count); give one per channel (or one for all)")
            }
            if let bad = std.first(where: { $0 < Limits.minStd }) { throw PractiseError("--std values must be at least \(Limits.minStd), got \(bad)") }
            return try Normalization(checkedMean: mean, std: std)
        }
        return recorded
    }

    /// A flat ImageFolder (no train/ and val/ or test/ folders) holds no images kept out of
    /// training. A command that trains on `--data` and reports top-1 on `--split` of the
    /// evaluation data refuses to measure it on those same images, unless the evaluation data was
    /// named with `--eval-data` (then it says so) or `--split train` asks for training accuracy.
    static func checkHeldOut(_ d: DataOptions, advice: String) throws {
        guard d.split != .train else { return }
        let train = try DataSpec.parse(d.data), eval = try d.evalData.map(DataSpec.parse) ?? train
        guard eval.isFlatImageFolder, eval.kind == train.kind, eval.root == train.root, let root = eval.root else { return }
        if d.evalData != nil {
            warn("note: evaluating on the training images: \(root) has no val/ or test/ split (--eval-data names it)")
            return
        }
        throw PractiseError("--data \(eval) has no val/ (or test/) split folder, so its \(d.split.rawValue) top-1 would be measured on the images it trains on; lay it out as \(root)/train/<class>/… and \(root)/val/<class>/…, \(advice)")
    }

    /// Checks the data's labels fit the model's outputs (its images are converted by ``modelInput``).
    static func checkClasses(_ dataset: any Dataset, _ network: NetworkSpec) throws {
        if dataset.classCount != network.numClasses {
            throw PractiseError("\(dataset.name) has \(dataset.classCount) classes but the model has \(network.numClasses) outputs (\(network.zoo == nil ? "its graph output" : "--num-classes"))")
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
