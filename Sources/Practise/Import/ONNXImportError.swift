/// A failure while turning an ONNX graph into a network: names the node, its op and the opset.
public struct ONNXImportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
