import Engine

/// The architectures the tool knows, by the names the CLI accepts.
public enum Architecture: String, CaseIterable, Sendable, Codable {
    case resnet18, resnet34, resnet50, resnet101, mobilenet_v2
    case resnet20, resnet32, resnet44, resnet56, resnet110

    /// CIFAR-style ResNets default to 1 input channel and 10 classes (Fashion-MNIST); the
    /// torchvision models to 3 and 1000.
    public var isCifarStyle: Bool {
        switch self {
        case .resnet20, .resnet32, .resnet44, .resnet56, .resnet110: return true
        default: return false
        }
    }

    public var defaultInChannels: Int { isCifarStyle ? 1 : 3 }
    public var defaultNumClasses: Int { isCifarStyle ? 10 : 1000 }
    /// Input side used for latency and demo runs when none is given.
    public var defaultImageSize: Int { isCifarStyle ? 28 : 224 }

    /// Builds the network with seeded initialisation.
    public func make(inChannels: Int? = nil, numClasses: Int? = nil, seed: UInt64 = 0) -> ClassifierModel {
        let inC = inChannels ?? defaultInChannels, classes = numClasses ?? defaultNumClasses
        switch self {
        case .resnet18: return ResNet(stem: .imageNet, block: .basic, blocksPerStage: [2, 2, 2, 2], inChannels: inC, numClasses: classes, seed: seed)
        case .resnet34: return ResNet(stem: .imageNet, block: .basic, blocksPerStage: [3, 4, 6, 3], inChannels: inC, numClasses: classes, seed: seed)
        case .resnet50: return ResNet(stem: .imageNet, block: .bottleneck, blocksPerStage: [3, 4, 6, 3], inChannels: inC, numClasses: classes, seed: seed)
        case .resnet101: return ResNet(stem: .imageNet, block: .bottleneck, blocksPerStage: [3, 4, 23, 3], inChannels: inC, numClasses: classes, seed: seed)
        case .mobilenet_v2: return MobileNetV2(inChannels: inC, numClasses: classes, seed: seed)
        case .resnet20, .resnet32, .resnet44, .resnet56, .resnet110:
            let depth = Int(rawValue.dropFirst("resnet".count))!
            let n = (depth - 2) / 6
            return ResNet(stem: .cifar, block: .basic, blocksPerStage: [n, n, n], inChannels: inC, numClasses: classes, seed: seed)
        }
    }
}
