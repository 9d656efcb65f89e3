/// A minimal protocol-buffers wire-format encoder: just what the ONNX writer needs.
///
/// Fields are appended in the order the caller writes them; to produce the same bytes as the
/// reference protobuf serializer, write fields in ascending field-number order. Repeated scalar
/// fields are written unpacked (one tag per element), as proto2 (the syntax of onnx.proto) does
/// by default; every conforming parser accepts that form.
public struct ProtobufWriter: Sendable {
    /// Protobuf wire types.
    public enum WireType: UInt8, Sendable {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    public private(set) var bytes: [UInt8]

    public init() {
        bytes = []
    }

    // MARK: Primitive encodings

    /// Appends `value` as a base-128 varint (1 to 10 bytes).
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends a field key (tag): `(field << 3) | wireType`.
    public mutating func writeTag(field: Int, wireType: WireType) {
        precondition(field >= 1 && field <= 536_870_911, "protobuf field number out of range: \(field)")
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// Appends the 4 little-endian bytes of `value`.
    public mutating func writeFixed32(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    // MARK: Fields

    /// int64 / int32 / enum field. Negative values take 10 bytes (two's complement), as protobuf specifies.
    public mutating func writeInt64Field(_ field: Int, _ value: Int64) {
        writeTag(field: field, wireType: .varint)
        writeVarint(UInt64(bitPattern: value))
    }

    /// Repeated int64 written unpacked (one key per element).
    public mutating func writeRepeatedInt64Field(_ field: Int, _ values: [Int64]) {
        for v in values { writeInt64Field(field, v) }
    }

    /// float field (wire type fixed32, IEEE-754 little-endian).
    public mutating func writeFloatField(_ field: Int, _ value: Float) {
        writeTag(field: field, wireType: .fixed32)
        writeFixed32(value.bitPattern)
    }

    /// Repeated float written unpacked (one key per element).
    public mutating func writeRepeatedFloatField(_ field: Int, _ values: [Float]) {
        for v in values { writeFloatField(field, v) }
    }

    /// bytes field (length-delimited).
    public mutating func writeBytesField(_ field: Int, _ value: [UInt8]) {
        writeTag(field: field, wireType: .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// string field (UTF-8, length-delimited).
    public mutating func writeStringField(_ field: Int, _ value: String) {
        writeBytesField(field, Array(value.utf8))
    }

    /// bytes field holding `values` as little-endian float32 (TensorProto.raw_data).
    public mutating func writeFloat32RawDataField(_ field: Int, _ values: [Float]) {
        writeTag(field: field, wireType: .lengthDelimited)
        writeVarint(UInt64(values.count * 4))
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { writeFixed32(v.bitPattern) }
    }

    /// Embedded-message field: `body` writes the nested message into a fresh writer; its bytes are
    /// then appended with a length prefix.
    public mutating func writeMessageField(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        writeBytesField(field, nested.bytes)
    }
}
