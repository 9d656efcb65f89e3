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
    public func make(inChannels: Int? = nil, numClasses: Int? = nil, seed: UInt64 = 0) -> GraphNetwork {
        let inC = inChannels ?? defaultInChannels, classes = numClasses ?? defaultNumClasses
        func resnet(_ stem: ResNet.Stem, _ block: ResNet.BlockKind, _ blocks: [Int]) -> GraphNetwork {
            ResNet.make(stem: stem, block: block, blocksPerStage: blocks, inChannels: inC, numClasses: classes, seed: seed, name: rawValue)
        }
        switch self {
        case .resnet18: return resnet(.imageNet, .basic, [2, 2, 2, 2])
        case .resnet34: return resnet(.imageNet, .basic, [3, 4, 6, 3])
        case .resnet50: return resnet(.imageNet, .bottleneck, [3, 4, 6, 3])
        case .resnet101: return resnet(.imageNet, .bottleneck, [3, 4, 23, 3])
        case .mobilenet_v2: return MobileNetV2.make(inChannels: inC, numClasses: classes, seed: seed, name: rawValue)
        case .resnet20, .resnet32, .resnet44, .resnet56, .resnet110:
            let depth = Int(rawValue.dropFirst("resnet".count))!
            let n = (depth - 2) / 6
            return resnet(.cifar, .basic, [n, n, n])
        }
    }
}
