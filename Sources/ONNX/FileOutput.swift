#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure while writing an ONNX model or tensor file.
public struct ONNXWriteError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Writes `bytes` to `url` atomically: into a temporary file in the same directory, which is then
/// renamed over `url`, so readers never see a partial file.
public func writeFileAtomically(_ bytes: [UInt8], to url: URL) throws {
    let path = url.path(percentEncoded: false)
    let directory = url.deletingLastPathComponent().path(percentEncoded: false)
    let tempPath = (directory.hasSuffix("/") ? directory : directory + "/")
        + ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let tempURL = URL(fileURLWithPath: tempPath)
    do {
        try Data(bytes).write(to: tempURL)
    } catch {
        _ = unlink(tempPath)
        throw ONNXWriteError(description: "cannot write \(tempPath): \(error)")
    }
    if rename(tempPath, path) != 0 {
        let code = errno
        _ = unlink(tempPath)
        throw ONNXWriteError(description: "cannot rename \(tempPath) to \(path): errno \(code)")
    }
}

extension ONNXGraphBuilder {
    /// Serializes the model (see `serialize`) and writes it to `url` atomically (temp file + rename).
    public func write(to url: URL, producerName: String = "practise", producerVersion: String,
                      metadata: [String: String]) throws {
        try writeFileAtomically(serialize(producerName: producerName, producerVersion: producerVersion,
                                          metadata: metadata), to: url)
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
        try writeFileAtomically(encode(values), to: url)
        let json = "{\"dtype\": \"float32\", \"shape\": [\(shape.map(String.init).joined(separator: ", "))]}\n"
        try writeFileAtomically(Array(json.utf8), to: URL(fileURLWithPath: url.path(percentEncoded: false) + ".json"))
    }
}
