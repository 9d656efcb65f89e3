import Engine
import NN

/// The check that closes every training loop: a loss is tested before each update, so only the
/// weights after the last update can diverge unseen; these functions find them.
public enum Divergence {
    /// The key of the first parameter or buffer (BatchNorm running statistics included) of
    /// `module` holding a NaN or an infinity, or nil when all are finite.
    public static func firstNonFinite(in module: Module) -> String? {
        module.stateDict().first { !allFinite($0.tensor) }?.key
    }

    /// Whether every parameter in `parameters` is finite.
    public static func allFinite(_ parameters: [Parameter]) -> Bool {
        parameters.allSatisfy { allFinite($0.value) }
    }

    static func allFinite(_ t: Tensor) -> Bool {
        let p = t.pointer
        for i in 0..<t.count where !p[i].isFinite { return false }
        return true
    }
}
