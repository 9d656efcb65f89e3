#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SafeFiles

extension ONNXGraphBuilder {
    /// Serializes the model (see `serialize`) and writes it to `url` atomically (temp file + rename).
    public func write(to url: URL, producerName: String = "practise", producerVersion: String,
                      metadata: [String: String]) throws {
        try write(toPath: url.path(percentEncoded: false), producerName: producerName, producerVersion: producerVersion, metadata: metadata)
    }

    /// Writes to `path` as given: `-` is standard output, a device or FIFO is written through.
    public func write(toPath path: String, producerName: String = "practise", producerVersion: String,
                      metadata: [String: String]) throws {
        try OutputFile.write(serialize(producerName: producerName, producerVersion: producerVersion, metadata: metadata), to: path)
    }
}

/// Raw float32 tensor files for `Scripts/check-onnx.py`: `NAME` holds the values as little-endian
/// float32 with no header; the sidecar `NAME.json` holds `{"dtype": "float32", "shape": [...]}`.
public enum ONNXRawTensorFile {
    /// The little-endian float32 bytes of `values`.
    public static func encode(_ values: [Float]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for v in values {
            let bits = v.bitPattern
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
        return bytes
    }

    /// Writes `url` (raw data) and `url` + ".json" (shape sidecar), each atomically.
    public static func write(_ values: [Float], shape: [Int], to url: URL) throws {
        precondition(values.count == shape.reduce(1, *), "ONNXRawTensorFile: \(values.count) values do not fill shape \(shape)")
        try OutputFile.write(encode(values), to: url.path(percentEncoded: false))
        let json = "{\"dtype\": \"float32\", \"shape\": [\(shape.map(String.init).joined(separator: ", "))]}\n"
        try OutputFile.write(json, to: url.path(percentEncoded: false) + ".json")
    }
}
