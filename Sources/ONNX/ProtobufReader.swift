/// A minimal protocol-buffers wire-format decoder over a byte range: just what the ONNX reader
/// needs. Every read is bounds-checked and fails with ``ONNXReadError`` naming the field being
/// read (`context`), never traps, whatever the bytes.
///
/// A message is read as a sequence of ``Field``s; length-delimited payloads are sub-ranges of the
/// same buffer (no copy) until a caller decodes them.
struct ProtobufReader {
    /// One field of a message: its number and wire-type-specific payload.
    struct Field {
        enum Payload {
            case varint(UInt64)
            case fixed64(UInt64)
            case bytes(Range<Int>)
            case fixed32(UInt32)
        }
        var number: Int
        var payload: Payload
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int
    /// What is being decoded, for error messages (`graph.node[3] 'Conv_3'`).
    let context: String

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil, context: String) {
        self.bytes = bytes
        let r = range ?? 0..<bytes.count
        position = r.lowerBound
        end = r.upperBound
        self.context = context
    }

    /// A reader over the payload of a length-delimited field.
    func sub(_ range: Range<Int>, context: String) -> ProtobufReader {
        ProtobufReader(bytes, range: range, context: context)
    }

    var isAtEnd: Bool { position >= end }

    func error(_ message: String) -> ONNXReadError { ONNXReadError("\(context): \(message)") }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("truncated varint at byte \(position)") }
            let b = bytes[position]
            position += 1
            guard shift < 64 else { throw error("varint longer than 10 bytes at byte \(position - 1)") }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func readFixed(_ width: Int) throws -> UInt64 {
        guard end - position >= width else { throw error("truncated \(width * 8)-bit value at byte \(position)") }
        var v: UInt64 = 0
        for i in 0..<width { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += width
        return v
    }

    /// The next field, or nil at the end of the message.
    mutating func nextField() throws -> Field? {
        guard !isAtEnd else { return nil }
        let key = try readVarint()
        let number = key >> 3
        guard number >= 1, number <= 536_870_911 else { throw error("invalid field number \(number) at byte \(position)") }
        switch key & 7 {
        case 0: return Field(number: Int(number), payload: .varint(try readVarint()))
        case 1: return Field(number: Int(number), payload: .fixed64(try readFixed(8)))
        case 2:
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                throw error("field \(number) claims \(length) bytes but only \(end - position) remain (truncated file?)")
            }
            let start = position
            position += Int(length)
            return Field(number: Int(number), payload: .bytes(start..<position))
        case 5: return Field(number: Int(number), payload: .fixed32(UInt32(try readFixed(4))))
        case let t: throw error("field \(number) has unsupported wire type \(t) (groups are not used by ONNX)")
        }
    }
}

extension ProtobufReader.Field {
    func wireName() -> String {
        switch payload {
        case .varint: return "varint"
        case .fixed64: return "fixed64"
        case .bytes: return "length-delimited"
        case .fixed32: return "fixed32"
        }
    }

    func expectedError(_ expected: String, field name: String, in reader: ProtobufReader) -> ONNXReadError {
        reader.error("field '\(name)' (\(number)) should be \(expected), found wire type \(wireName())")
    }

    /// An int64/int32/enum field.
    func int64(_ name: String, in reader: ProtobufReader) throws -> Int64 {
        guard case .varint(let v) = payload else { throw expectedError("a varint", field: name, in: reader) }
        return Int64(bitPattern: v)
    }

    /// A length-delimited field's byte range.
    func range(_ name: String, in reader: ProtobufReader) throws -> Range<Int> {
        guard case .bytes(let r) = payload else { throw expectedError("length-delimited", field: name, in: reader) }
        return r
    }

    /// A UTF-8 string field (invalid sequences are repaired, as names are only labels).
    func string(_ name: String, in reader: ProtobufReader) throws -> String {
        let r = try range(name, in: reader)
        return String(decoding: UnsafeRawBufferPointer(rebasing: reader.bytes[r]), as: UTF8.self)
    }

    /// A float field (fixed32).
    func float(_ name: String, in reader: ProtobufReader) throws -> Float {
        guard case .fixed32(let v) = payload else { throw expectedError("a 32-bit float", field: name, in: reader) }
        return Float(bitPattern: v)
    }

    /// Appends the elements of a repeated int64 field, packed or not.
    func appendInt64s(_ name: String, to out: inout [Int64], limit: Int, in reader: ProtobufReader) throws {
        switch payload {
        case .varint(let v): out.append(Int64(bitPattern: v))
        case .bytes(let r):
            var sub = reader.sub(r, context: "\(reader.context).\(name)")
            while !sub.isAtEnd {
                out.append(Int64(bitPattern: try sub.readVarint()))
                guard out.count <= limit else { throw reader.error("'\(name)' has more than \(limit) elements") }
            }
        default: throw expectedError("varints (packed or not)", field: name, in: reader)
        }
        guard out.count <= limit else { throw reader.error("'\(name)' has more than \(limit) elements") }
    }

    /// Appends the elements of a repeated float field, packed or not.
    func appendFloats(_ name: String, to out: inout [Float], in reader: ProtobufReader) throws {
        switch payload {
        case .fixed32(let v): out.append(Float(bitPattern: v))
        case .bytes(let r):
            guard r.count % 4 == 0 else { throw reader.error("packed '\(name)' is \(r.count) bytes, not a multiple of 4") }
            out.reserveCapacity(out.count + r.count / 4)
            var i = r.lowerBound
            while i < r.upperBound {
                let v = UInt32(reader.bytes[i]) | UInt32(reader.bytes[i + 1]) << 8
                    | UInt32(reader.bytes[i + 2]) << 16 | UInt32(reader.bytes[i + 3]) << 24
                out.append(Float(bitPattern: v))
                i += 4
            }
        default: throw expectedError("32-bit floats (packed or not)", field: name, in: reader)
        }
    }

    /// Appends the elements of a repeated double field, packed or not.
    func appendDoubles(_ name: String, to out: inout [Double], in reader: ProtobufReader) throws {
        switch payload {
        case .fixed64(let v): out.append(Double(bitPattern: v))
        case .bytes(let r):
            guard r.count % 8 == 0 else { throw reader.error("packed '\(name)' is \(r.count) bytes, not a multiple of 8") }
            var i = r.lowerBound
            while i < r.upperBound {
                var v: UInt64 = 0
                for k in 0..<8 { v |= UInt64(reader.bytes[i + k]) << (8 * UInt64(k)) }
                out.append(Double(bitPattern: v))
                i += 8
            }
        default: throw expectedError("64-bit doubles (packed or not)", field: name, in: reader)
        }
    }
}
