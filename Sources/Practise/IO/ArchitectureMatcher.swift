import Engine
import NN

/// Recognises which known architecture a set of `state_dict` keys belongs to.
public enum ArchitectureMatcher {
    public struct Match: Sendable, Equatable {
        public var architecture: Architecture
        /// Droppable blocks whose keys are all absent.
        public var droppedBlocks: [String]
    }

    /// The architecture whose keys equal `keys` once some whole candidate blocks are removed.
    /// Buffers named `num_batches_tracked` are ignored.
    public static func match(keys: Set<String>) -> Match? {
        let wanted = keys.filter { !$0.hasSuffix("num_batches_tracked") }
        for arch in Architecture.allCases {
            let model = arch.make(inChannels: 1, numClasses: 2, seed: 0)
            let own = Set(model.stateDict().map(\.key).filter { !$0.hasSuffix("num_batches_tracked") })
            guard wanted.isSubset(of: own) else { continue }
            let missing = own.subtracting(wanted)
            if missing.isEmpty { return Match(architecture: arch, droppedBlocks: []) }
            // Every missing key must belong to a droppable block that is missing entirely.
            let blocks = model.stages.flatMap { $0.dropFirst() }.filter { (model.module(at: $0) as? ResidualBlock)?.hasIdentitySkip == true }
            var dropped: [String] = []
            var covered = Set<String>()
            for b in blocks {
                let blockKeys = own.filter { $0.hasPrefix(b + ".") }
                if !blockKeys.isEmpty && blockKeys.isSubset(of: missing) { dropped.append(b); covered.formUnion(blockKeys) }
            }
            if covered == missing { return Match(architecture: arch, droppedBlocks: dropped) }
        }
        return nil
    }

    /// Input channels and class count read off the first conv and the classifier.
    public static func shapes(of tensors: [String: Tensor]) -> (inChannels: Int?, numClasses: Int?) {
        let first = tensors["conv1.weight"] ?? tensors["features.0.0.weight"]
        let head = tensors["fc.weight"] ?? tensors["classifier.1.weight"]
        return (first.map { $0.shape[1] }, head.map { $0.shape[0] })
    }
}
