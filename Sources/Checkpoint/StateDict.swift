/// One tensor from a checkpoint, converted to Float32.
///
/// `values` is row-major and contiguous (`values.count == shape.product`),
/// whatever layout (storage offset, strides) the file used.
/// A scalar (0-d) tensor has `shape == []` and one value.
public struct TensorRecord: Sendable, Equatable {
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// Element type stored in the file (integers and halves become Float).
    public var sourceDType: DType
    /// Row-major contiguous values, converted to Float32.
    public var values: [Float]

    public init(shape: [Int], sourceDType: DType = .f32, values: [Float]) {
        self.shape = shape
        self.sourceDType = sourceDType
        self.values = values
    }

    /// Number of elements implied by `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A named collection of tensors, in file order, plus string metadata.
///
/// - `tensors`: name → tensor.
/// - `order`: the names in the order the file listed them; every key of
///   `tensors` appears exactly once.
/// - `metadata`: safetensors `__metadata__`, or for `.pth` checkpoints that
///   wrap the state dict (`{"state_dict": ..., "epoch": 3}`) the wrapper's
///   scalar entries rendered as strings.
/// - `rmBlocks`: the `rm_blocks` list of a wrapped `.pth` checkpoint, if any.
public struct StateDict: Sendable, Equatable {
    public var tensors: [String: TensorRecord]
    public var order: [String]
    public var metadata: [String: String]
    public var rmBlocks: [String]?

    public init(
        tensors: [String: TensorRecord] = [:],
        order: [String]? = nil,
        metadata: [String: String] = [:],
        rmBlocks: [String]? = nil
    ) {
        self.tensors = tensors
        self.order = order ?? tensors.keys.sorted()
        self.metadata = metadata
        self.rmBlocks = rmBlocks
    }

    /// The tensor called `name`, if present.
    public subscript(name: String) -> TensorRecord? { tensors[name] }

    /// Adds or replaces a tensor; new names go to the end of `order`.
    public mutating func set(_ name: String, _ record: TensorRecord) {
        if tensors.updateValue(record, forKey: name) == nil { order.append(name) }
    }

    /// Names in `order` that exist, followed by any remaining names sorted.
    var orderedNames: [String] {
        var seen = Set<String>()
        var names: [String] = []
        for name in order where tensors[name] != nil && seen.insert(name).inserted {
            names.append(name)
        }
        if names.count < tensors.count {
            names += tensors.keys.filter { !seen.contains($0) }.sorted()
        }
        return names
    }
}
