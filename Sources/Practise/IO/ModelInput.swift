import Engine
import ImageData
import NN

/// The input a network takes, `[channels, side, side]` with its normalisation, and the one rule by
/// which images of any dataset reach it. Every command that reads images goes through it (`eval`,
/// `analyze`, `compress`, `train`, `demo`), for the evaluation data and the tiny set alike.
///
/// - Data whose own evaluation transform (``DataSpec/defaultTransform(train:normalization:)``)
///   already yields `[channels, side, side]` is used with its own transforms: Fashion-MNIST for a
///   grey 28-pixel teacher, an ImageFolder of photographs for a 224-pixel RGB network.
/// - Any other data is converted by ``InputConversion``'s rule (grey ↔ RGB, then resize so the
///   shorter side is `side` and centre-crop), then normalised; training adds the small-image
///   augmentation (random crop with 4-pixel padding + flip, up to 64 px). Examples: the PNGs of a
///   synthetic set (decoded as RGB) for a grey teacher, CIFAR images for a Fashion-MNIST teacher,
///   photographs of any size for a 28-pixel network.
/// - The normalisation is the network's: the CLI takes `--mean/--std`, else the weights' metadata,
///   else the data's own default, which converted data cannot use (it is not the network's kind).
public struct ModelInput: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var side: Int
    public var normalization: Normalization

    public init(channels: Int, side: Int, normalization: Normalization) {
        self.channels = channels; self.side = side; self.normalization = normalization
    }

    /// `[channels, side, side]`.
    public var shape: [Int] { [channels, side, side] }

    /// The rule's steps for data of another kind.
    public var rule: InputConversion { InputConversion(channels: channels, height: side, width: side) }

    /// `[C, H, W]` of `dataset`'s first image after its own evaluation transform.
    public static func ownShape(of dataset: any Dataset, spec: DataSpec) throws -> [Int] {
        var g = SeededGenerator(seed: 0)
        return try spec.defaultTransform(train: false, normalization: .identity).apply(try dataset.image(at: 0), using: &g).shape
    }

    /// The rule, or nil when `dataset`'s own evaluation transform already yields ``shape``.
    public func conversion(for dataset: any Dataset, spec: DataSpec) throws -> InputConversion? {
        try Self.ownShape(of: dataset, spec: spec) == shape ? nil : rule
    }

    /// Evaluation transform of data of kind `spec`: its own without a conversion, else the rule +
    /// normalisation.
    public func evalTransform(spec: DataSpec, conversion: InputConversion?) -> TransformPipeline {
        guard let conversion else { return DataIO.evalTransform(spec: spec, normalization: normalization) }
        return conversion.prepended(to: .tensorOnly(normalization))
    }

    /// Training transform of data of kind `spec` (``DataIO/trainTransform(spec:imageSide:normalization:)``),
    /// with the conversion's steps in front.
    public func trainTransform(spec: DataSpec, conversion: InputConversion?) -> TransformPipeline {
        let augment = DataIO.trainTransform(spec: spec, imageSide: side, normalization: normalization)
        return conversion?.prepended(to: augment) ?? augment
    }

    /// The side of a network's input: `explicit` (`--image-size`), else the weights' metadata
    /// (`practise.image_size`, written by `train` and `compress`), else the side of `data`'s images
    /// when all of them have one size (IDX, CIFAR, the bundled subset), else the architecture's
    /// default (28 for CIFAR-style ResNets, 224 for torchvision models).
    public static func side(explicit: Int?, weights: LoadedWeights?, data: any Dataset, spec: DataSpec,
                            architecture: Architecture) throws -> Int {
        if let explicit { return explicit }
        if let recorded = try weights?.imageSide() { return recorded }
        if spec.kind.hasImagesOfOneSize { return try ownShape(of: data, spec: spec)[2] }
        return architecture.defaultImageSize
    }

    public var description: String { "\(channels == 1 ? "grey" : "RGB") \(side)x\(side)" }
}

extension DataSpec.Kind {
    /// Whether every image of this kind of data has the same size (IDX, CIFAR, bundled).
    public var hasImagesOfOneSize: Bool {
        switch self {
        case .bundled, .fashionMNIST, .mnist, .idx, .cifar10, .cifar100: return true
        case .imageFolder, .images, .synthetic: return false
        }
    }
}
