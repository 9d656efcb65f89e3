/// The validated JSON header of a safetensors file.
///
/// Layout of the file: `u64 LE N`, `N` bytes of JSON, then the data buffer.
/// The JSON maps each tensor name to
/// `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`
/// (offsets relative to the data buffer, `end` exclusive) and may carry a
/// `"__metadata__"` object of string → string.
///
/// Validation guarantees that the tensors tile the data buffer exactly:
/// no out-of-range offsets, no overlaps, no gaps, no trailing bytes, and
/// each byte range is exactly `dtype size × element count` long.
struct SafeTensorsHeader {
    struct Entry {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Largest header accepted, in bytes (matches the reference implementation).
    static let maxHeaderBytes = 100_000_000
    static let metadataKey = "__metadata__"

    /// Tensors in header order.
    var entries: [Entry]
    var metadata: [String: String]

    /// Parses `json` and checks every entry against a data buffer of
    /// `dataLength` bytes.
    static func parse(_ json: UnsafeRawBufferPointer, dataLength: Int) throws -> SafeTensorsHeader {
        let root = try JSONScanner.parse(json, context: "invalid safetensors header")
        guard case .object(let members) = root else {
            throw fail("safetensors header must be a JSON object, found \(root.kind)")
        }
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == metadataKey {
                metadata = try parseMetadata(value)
            } else {
                entries.append(try parseEntry(name, value, dataLength: dataLength))
            }
        }
        try checkTiling(entries, dataLength: dataLength)
        return SafeTensorsHeader(entries: entries, metadata: metadata)
    }

    private static func parseMetadata(_ value: JSONValue) throws -> [String: String] {
        guard case .object(let pairs) = value else {
            throw fail("\"\(metadataKey)\" must be an object of strings, found \(value.kind)")
        }
        var out: [String: String] = [:]
        for (key, item) in pairs {
            guard case .string(let s) = item else {
                throw fail("\"\(metadataKey)\" entry '\(key)' must be a string, found \(item.kind)")
            }
            out[key] = s
        }
        return out
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, dataLength: Int) throws -> Entry {
        guard case .object(let fields) = value else {
            throw fail("tensor '\(name)' must be described by an object, found \(value.kind)")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let v = fields.first(where: { $0.key == key })?.value else {
                throw fail("tensor '\(name)' is missing \"\(key)\"")
            }
            return v
        }
        guard case .string(let dtypeName) = try field("dtype") else {
            throw fail("tensor '\(name)': \"dtype\" must be a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw fail("tensor '\(name)' has unsupported dtype \"\(dtypeName)\"")
        }
        guard case .array(let dims) = try field("shape"),
              let shape = integers(dims), shape.allSatisfy({ $0 >= 0 })
        else { throw fail("tensor '\(name)': \"shape\" must be an array of non-negative integers") }
        guard case .array(let offs) = try field("data_offsets"),
              let offsets = integers(offs), offsets.count == 2, offsets[0] >= 0, offsets[1] >= 0
        else { throw fail("tensor '\(name)': \"data_offsets\" must be [begin, end] with non-negative integers") }
        let (begin, end) = (offsets[0], offsets[1])
        let span = "data_offsets [\(begin), \(end)]"
        guard begin <= end else { throw fail("tensor '\(name)' has \(span) with begin after end") }
        guard end <= dataLength else {
            throw fail("tensor '\(name)' has \(span) outside the \(dataLength)-byte data buffer")
        }
        let shapeText = "[" + shape.map(String.init).joined(separator: ", ") + "]"
        guard let count = TensorLayout.elementCount(shape),
              case let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize), !overflow
        else { throw fail("tensor '\(name)' has shape \(shapeText) whose size overflows") }
        guard bytes == end - begin else {
            throw fail("tensor '\(name)' has dtype \(dtype.rawValue) and shape \(shapeText) (\(bytes) bytes) but \(span) span \(end - begin) bytes")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// Integer array, or nil if any element is not an integer.
    private static func integers(_ values: [JSONValue]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard case .int(let i) = v else { return nil }
            out.append(i)
        }
        return out
    }

    /// Checks that the byte ranges cover `0..<dataLength` exactly once.
    private static func checkTiling(_ entries: [Entry], dataLength: Int) throws {
        let sorted = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor = 0
        var previous: Entry?
        for entry in sorted {
            if entry.begin < cursor, let previous {
                throw fail("tensors '\(previous.name)' and '\(entry.name)' overlap: data_offsets [\(previous.begin), \(previous.end)] and [\(entry.begin), \(entry.end)]")
            }
            if entry.begin > cursor {
                let before = previous.map { "between tensors '\($0.name)' and '\(entry.name)'" } ?? "before tensor '\(entry.name)'"
                throw fail("data buffer bytes \(cursor)..<\(entry.begin) \(before) belong to no tensor")
            }
            cursor = entry.end
            previous = entry
        }
        if cursor != dataLength {
            throw fail("data buffer has \(dataLength - cursor) trailing bytes after the last tensor")
        }
    }
}
