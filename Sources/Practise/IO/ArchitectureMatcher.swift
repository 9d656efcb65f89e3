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

    /// Input channels and class count read off the weights of `architecture`'s first conv and
    /// its classifier, whose keys come from the architecture's description.
    public static func shapes(of tensors: [String: Tensor], architecture: Architecture) -> (inChannels: Int?, numClasses: Int?) {
        let net = architecture.make(inChannels: 1, numClasses: 2, seed: 0)
        let firstConv = net.stemProgram.steps.first { if case .conv = $0.op { return true } else { return false } }?.op.layerPath
        let classifier = net.headProgram.steps.last { if case .linear = $0.op { return true } else { return false } }?.op.layerPath
        let first = firstConv.flatMap { tensors[$0 + ".weight"] }, head = classifier.flatMap { tensors[$0 + ".weight"] }
        return (first.flatMap { $0.rank == 4 ? $0.shape[1] : nil }, head.flatMap { $0.rank == 2 ? $0.shape[0] : nil })
    }
}
