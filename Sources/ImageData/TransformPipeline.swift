import Engine
/// A `Compose` of image transforms followed by ToTensor and (optionally)
/// Normalize: `apply` maps an HWC UInt8 `Image` to a CHW Float `TensorImage`.
///
/// Random steps draw from the generator in step order. The loader gives
/// each sample its own generator derived from (seed, epoch, sample index).
public struct TransformPipeline: Sendable {
    public var steps: [any ImageTransform]
    /// Applied after ToTensor; nil leaves values in [0, 1].
    public var normalization: Normalization?

    public init(_ steps: [any ImageTransform] = [], normalization: Normalization?) {
        self.steps = steps
        self.normalization = normalization
    }

    /// The 8-bit image after the geometric steps (before ToTensor).
    public func applyImageSteps(_ image: Image, using rng: inout SeededGenerator) -> Image {
        var img = image
        for step in steps { img = step.apply(img, using: &rng) }
        return img
    }

    /// Steps, ToTensor, Normalize. Throws only for a normalisation whose
    /// channel count does not fit the image.
    public func apply(_ image: Image, using rng: inout SeededGenerator) throws -> TensorImage {
        let img = applyImageSteps(image, using: &rng)
        if let normalization {
            return try TensorizeNormalize.apply(img, normalization)
        }
        return ToTensor.apply(img)
    }

    // MARK: Presets (torchvision's usual recipes)

    /// ToTensor + Normalize only (MNIST / Fashion-MNIST, evaluation of 32×32 CIFAR).
    public static func tensorOnly(_ normalization: Normalization?) -> TransformPipeline {
        TransformPipeline([], normalization: normalization)
    }

    /// ImageNet training: RandomResizedCrop(size) + RandomHorizontalFlip + ToTensor + Normalize.
    public static func imageNetTrain(size: Int = 224, normalization: Normalization? = .imageNet) -> TransformPipeline {
        TransformPipeline([RandomResizedCrop(size: size), RandomHorizontalFlip()], normalization: normalization)
    }

    /// ImageNet evaluation: Resize(shorter side `resize`) + CenterCrop(size) + ToTensor + Normalize.
    public static func imageNetEval(size: Int = 224, resize: Int = 256,
                                    normalization: Normalization? = .imageNet) -> TransformPipeline {
        TransformPipeline([Resize(shorterSide: resize), CenterCrop(size: size)], normalization: normalization)
    }

    /// CIFAR training: RandomCrop(32, padding 4) + RandomHorizontalFlip + ToTensor + Normalize.
    public static func cifarTrain(normalization: Normalization? = .imageNet) -> TransformPipeline {
        TransformPipeline([RandomCrop(size: 32, padding: 4), RandomHorizontalFlip()], normalization: normalization)
    }
}
