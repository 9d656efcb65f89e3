import Foundation

/// One recorded operation on the tape.
///
/// `backward(gradOutput, needs)` returns one gradient per input (nil where `needs[i]` is false
/// or the input is a constant). Leaf nodes belong to a ``Parameter`` and accumulate into it.
///
/// A node's closure (and with it every tensor it saved for the backward pass) is released as
/// soon as it has run, as PyTorch frees saved tensors, so activations are freed progressively
/// during the backward pass instead of all at its end; a second backward pass through the same
/// graph is therefore an error.
public final class GradNode: @unchecked Sendable {
    let inputs: [GradNode?]
    private(set) var backward: ((Tensor, [Bool]) -> [Tensor?])?
    private(set) var released = false
    weak var parameter: Parameter?

    /// Drops the closure and the tensors it captured.
    func release() { backward = nil; released = true }

    init(inputs: [GradNode?], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }

    init(parameter: Parameter) {
        self.inputs = []
        self.backward = nil
        self.parameter = parameter
    }
}

/// Reverse-mode automatic differentiation over the ops in this module.
public enum Autograd {
    nonisolated(unsafe) static var recording = true

    /// Whether ops currently record tape nodes.
    public static var isRecording: Bool { recording }

    /// Runs `body` without recording: for teacher passes, evaluation and latency runs.
    public static func noGrad<T>(_ body: () throws -> T) rethrows -> T {
        let saved = recording
        recording = false
        defer { recording = saved }
        return try body()
    }

    /// Attaches a tape node to `output` when recording and any input needs a gradient.
    @inline(__always)
    public static func record(_ output: Tensor, inputs: [Tensor],
                              backward: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        guard recording else { return output }
        var any = false
        for t in inputs where t.node != nil { any = true; break }
        guard any else { return output }
        var out = output
        out.node = GradNode(inputs: inputs.map { $0.node }, backward: backward)
        return out
    }

    /// Back-propagates from a scalar `loss` (seed gradient 1) or from `root` with `seed`,
    /// accumulating into every reachable parameter's `grad`.
    public static func backward(_ root: Tensor, seed: Tensor? = nil) {
        guard let rootNode = root.node else { return }
        let seedGrad = seed ?? Tensor(repeating: 1, shape: root.shape)
        checkSameShape(seedGrad.shape, root.shape, "backward seed")

        // Topological order by iterative depth-first search.
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Int)] = [(rootNode, 0)]
        visited.insert(ObjectIdentifier(rootNode))
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                if let child = node.inputs[next], visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
            }
        }

        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(rootNode): seedGrad]
        noGrad {
            for node in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
                if let p = node.parameter {
                    p.accumulate(g)
                    continue
                }
                guard let backward = node.backward else {
                    precondition(!node.released, "backward through a graph a second time: its saved tensors were freed by the first backward pass")
                    continue
                }
                let needs = node.inputs.map { $0 != nil }
                let inputGrads = backward(g, needs)
                node.release()
                for (i, child) in node.inputs.enumerated() {
                    guard let child, i < inputGrads.count, let gi = inputGrads[i] else { continue }
                    let key = ObjectIdentifier(child)
                    if let existing = grads[key] {
                        grads[key] = addAccumulating(existing, gi)
                    } else {
                        grads[key] = gi
                    }
                }
            }
        }
    }

    /// `a + b` in fresh storage (backward closures may hand the same tensor to several inputs).
    private static func addAccumulating(_ a: Tensor, _ b: Tensor) -> Tensor {
        checkSameShape(a.shape, b.shape, "gradient accumulation")
        let out = Tensor(uninitialized: a.shape)
        let o = out.pointer, x = a.pointer, y = b.pointer
        Parallel.chunks(out.count, minChunk: 65536) { r in for i in r { o[i] = x[i] + y[i] } }
        return out
    }
}

extension Tensor {
    /// Back-propagates from this scalar loss.
    public func backward() { Autograd.backward(self) }
}
