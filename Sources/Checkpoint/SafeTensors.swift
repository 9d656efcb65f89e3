import Foundation
import SafeFiles

/// Reading and writing the safetensors format
/// (https://huggingface.co/docs/safetensors): `u64 LE` header length,
/// JSON header (see ``SafeTensorsHeader``), then the raw data buffer.
public enum SafeTensors {
    /// Reads a safetensors file. F32, F16, BF16, F64 and the integer / bool
    /// dtypes are accepted and converted to Float.
    ///
    /// Throws a ``CheckpointError`` naming the file for truncated files,
    /// headers over 100 MB, invalid or duplicate-key JSON, unknown dtypes,
    /// and offsets that are out of range, overlap, leave gaps or disagree
    /// with dtype × shape.
    public static func read(_ url: URL) throws -> StateDict {
        try withFileName(url.relativePath) {
            try decode(FileInput.read(url))
        }
    }

    /// Decodes safetensors bytes already in memory (errors name no file).
    public static func decode(_ data: Data) throws -> StateDict {
        try data.withUnsafeBytes { try decode(bytes: $0) }
    }

    static func decode(bytes: UnsafeRawBufferPointer) throws -> StateDict {
        guard bytes.count >= 8 else {
            throw fail("truncated safetensors file: \(bytes.count) bytes, need at least 8 for the header length")
        }
        let headerLength = bytes.u64le(0)
        guard headerLength <= UInt64(SafeTensorsHeader.maxHeaderBytes) else {
            throw fail("safetensors header length \(headerLength) exceeds the limit of \(SafeTensorsHeader.maxHeaderBytes) bytes")
        }
        let n = Int(headerLength)
        guard n <= bytes.count - 8 else {
            throw fail("truncated safetensors file: header length is \(n) bytes but only \(bytes.count - 8) follow")
        }
        let json = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + n)])
        let buffer = UnsafeRawBufferPointer(rebasing: bytes[(8 + n)...])
        let header = try SafeTensorsHeader.parse(json, dataLength: buffer.count)

        var result = StateDict(metadata: header.metadata)
        result.order.reserveCapacity(header.entries.count)
        for entry in header.entries {
            let raw = UnsafeRawBufferPointer(rebasing: buffer[entry.begin..<entry.end])
            let count = entry.shape.reduce(1, *)
            let values = DTypeConversion.contiguous(raw, dtype: entry.dtype, start: 0, count: count)
            result.set(entry.name, TensorRecord(shape: entry.shape, sourceDType: entry.dtype, values: values))
        }
        return result
    }

    /// Writes `stateDict` as Float32 safetensors, atomically: the bytes go
    /// to a temporary file in the same folder, which is then renamed over
    /// `url`. Tensors are written in `order` (names missing from it follow,
    /// sorted); `metadata` becomes `__metadata__`.
    public static func write(_ stateDict: StateDict, to url: URL) throws { try write(stateDict, toPath: url.path) }

    /// Writes to `path` as given: `-` is standard output, a device or FIFO is written through.
    public static func write(_ stateDict: StateDict, toPath path: String) throws {
        try withFileName(path) {
            let bytes = try encode(stateDict)
            do throws(OutputFileError) { try OutputFile.write(bytes, to: path) } catch { throw fail("cannot write file: \(error.reason)") }
        }
    }

    /// The safetensors bytes for `stateDict` (all tensors as F32).
    public static func encode(_ stateDict: StateDict) throws -> Data {
        let names = stateDict.orderedNames
        var header = "{"
        var fields: [String] = []
        if !stateDict.metadata.isEmpty {
            let pairs = stateDict.metadata.keys.sorted().map { key in
                "\(jsonString(key)):\(jsonString(stateDict.metadata[key]!))"
            }
            fields.append("\(jsonString(SafeTensorsHeader.metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let record = stateDict.tensors[name]!
            guard name != SafeTensorsHeader.metadataKey else {
                throw fail("cannot write a tensor named '\(name)': the name is reserved")
            }
            let shapeText = record.shape.map(String.init).joined(separator: ",")
            guard let count = TensorLayout.elementCount(record.shape), count == record.values.count else {
                throw fail("tensor '\(name)' has shape [\(shapeText)] but \(record.values.count) values")
            }
            let end = offset + count * 4
            fields.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shapeText)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for name in names {
            let values = stateDict.tensors[name]!.values
            #if _endian(little)
            values.withUnsafeBytes { data.append(contentsOf: $0) }
            #else
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            #endif
        }
        return data
    }

    /// JSON string literal for `s`.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
