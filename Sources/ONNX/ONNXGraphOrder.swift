extension ONNXGraph {
    /// Names of graph inputs that are not initializers: the values the caller feeds.
    public var runtimeInputs: [ONNXValueInfo] { inputs.filter { initializers[$0.name] == nil } }

    /// Node indices in an order where every node comes after the producers of its inputs.
    ///
    /// Throws, naming the node and value, when an input is produced by nothing (a dangling
    /// input), when two nodes (or a node and an initializer/graph input) produce the same value,
    /// when the nodes form a cycle, or when a graph output is never produced.
    public func topologicalOrder() throws -> [Int] {
        var producer: [String: Int] = [:]
        var available = Set(initializers.keys)
        for i in inputs { available.insert(i.name) }
        for (k, n) in nodes.enumerated() {
            for o in n.outputs where !o.isEmpty {
                if available.contains(o) || producer[o] != nil {
                    throw ONNXReadError("graph: node \(k) '\(n.name)' (\(n.opType)) writes '\(o)', which is already produced by \(producer[o].map { "node \($0) '\(nodes[$0].name)'" } ?? "an initializer or graph input")")
                }
                producer[o] = k
            }
        }
        var waiting = [Int](repeating: 0, count: nodes.count)
        var consumers: [Int: [Int]] = [:]
        for (k, n) in nodes.enumerated() {
            for i in n.inputs where !i.isEmpty && !available.contains(i) {
                guard let p = producer[i] else {
                    throw ONNXReadError("graph: node \(k) '\(n.name)' (\(n.opType)) reads '\(i)', which no node, initializer or graph input produces")
                }
                waiting[k] += 1
                consumers[p, default: []].append(k)
            }
        }
        var ready = (0..<nodes.count).filter { waiting[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        // Prefer file order among ready nodes so an already-sorted file keeps its order.
        while let k = ready.popLast() {
            order.append(k)
            for c in consumers[k] ?? [] {
                waiting[c] -= 1
                guard waiting[c] == 0 else { continue }
                // `ready` is sorted descending; insert keeping that order.
                var lo = 0, hi = ready.count
                while lo < hi { let mid = (lo + hi) / 2; if ready[mid] > c { lo = mid + 1 } else { hi = mid } }
                ready.insert(c, at: lo)
            }
        }
        guard order.count == nodes.count else {
            let stuck = (0..<nodes.count).first { waiting[$0] > 0 }!
            throw ONNXReadError("graph: the nodes form a cycle (node \(stuck) '\(nodes[stuck].name)' (\(nodes[stuck].opType)) is on a cycle or depends on one)")
        }
        for o in outputs where producer[o.name] == nil && !available.contains(o.name) {
            throw ONNXReadError("graph: output '\(o.name)' is produced by no node")
        }
        return order
    }
}
