/// A failure while reading an ONNX model: the message names the file part (graph, node, tensor,
/// attribute, field) and what was expected.
public struct ONNXReadError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The parts of an ONNX `ModelProto` that describe a CNN for inference and training:
/// opset imports and the main graph. Sub-graphs (`If`/`Loop` bodies), functions and sparse
/// initializers are not decoded; a model that needs them fails where they are used.
public struct ONNXModel: Sendable {
    public var irVersion: Int64
    /// Opset version by domain (`""` is the default `ai.onnx` domain).
    public var opsets: [String: Int64]
    public var producerName: String
    public var producerVersion: String
    public var graph: ONNXGraph
    /// `metadata_props` (key → value); practise records the normalisation here.
    public var metadata: [String: String] = [:]

    /// The default-domain opset version (1 when the model declares none, as the spec says).
    public var opsetVersion: Int64 { opsets[""] ?? opsets["ai.onnx"] ?? 1 }
}

public struct ONNXGraph: Sendable {
    public var name: String
    public var nodes: [ONNXNode]
    /// Initializers by name (weights, BatchNorm statistics, shape constants).
    public var initializers: [String: ONNXTensor]
    /// Initializer names in file order.
    public var initializerOrder: [String]
    /// Graph inputs (initializers listed as inputs, as IR < 4 requires, are included).
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
}

public struct ONNXNode: Sendable {
    public var name: String
    public var opType: String
    public var domain: String
    /// Value names; `""` marks an omitted optional input.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]
}

public enum ONNXAttribute: Sendable, Equatable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    /// A kind this reader does not decode (graphs, sparse tensors, type protos); the raw type number.
    case unsupported(Int64)
}

/// An ONNX tensor's element types that the reader decodes.
public enum ONNXDataType: Int64, Sendable {
    case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, double = 11
}

public struct ONNXTensor: Sendable, Equatable {
    public var name: String
    public var dims: [Int]
    public var dataType: ONNXDataType
    /// Elements of a float or double tensor, as Float.
    public var floats: [Float]
    /// Elements of an integer or boolean tensor.
    public var ints: [Int64]

    public var count: Int { dims.reduce(1, *) }
    public var isFloatingPoint: Bool { dataType == .float || dataType == .double }

    public init(name: String, dims: [Int], floats: [Float]) {
        self.name = name; self.dims = dims; dataType = .float; self.floats = floats; ints = []
    }

    public init(name: String, dims: [Int], ints: [Int64]) {
        self.name = name; self.dims = dims; dataType = .int64; floats = []; self.ints = ints
    }
}

/// A graph input or output: name, element type and shape (nil extents are symbolic or unknown).
public struct ONNXValueInfo: Sendable, Equatable {
    public var name: String
    public var elementType: Int64?
    public var shape: [Int?]?
}
