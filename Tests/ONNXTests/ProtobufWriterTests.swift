import Testing
@testable import ONNX

@Suite struct ProtobufWriterTests {
    private func varint(_ v: UInt64) -> [UInt8] {
        var w = ProtobufWriter()
        w.writeVarint(v)
        return w.bytes
    }

    @Test func varintEdgeCases() {
        #expect(varint(0) == [0x00])
        #expect(varint(1) == [0x01])
        #expect(varint(127) == [0x7F])
        #expect(varint(128) == [0x80, 0x01])
        #expect(varint(150) == [0x96, 0x01])          // the protobuf docs' example
        #expect(varint(300) == [0xAC, 0x02])
        #expect(varint(16_383) == [0xFF, 0x7F])
        #expect(varint(16_384) == [0x80, 0x80, 0x01])
        #expect(varint(UInt64(UInt32.max)) == [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(varint(1 << 63) == [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(varint(UInt64.max) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    }

    @Test func int64FieldsIncludingNegative() {
        var w = ProtobufWriter()
        w.writeInt64Field(1, 7)
        #expect(w.bytes == [0x08, 0x07])
        w = ProtobufWriter()
        w.writeInt64Field(2, -1)                      // two's complement, always 10 bytes
        #expect(w.bytes == [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        w = ProtobufWriter()
        w.writeInt64Field(3, Int64.min)
        #expect(w.bytes == [0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    }

    @Test func tagsForLargeFieldNumbers() {
        var w = ProtobufWriter()
        w.writeInt64Field(20, 7)                      // AttributeProto.type: key (20 << 3) = 160
        #expect(w.bytes == [0xA0, 0x01, 0x07])
        w = ProtobufWriter()
        w.writeStringField(15, "")                    // largest single-byte key: (15 << 3) | 2 = 0x7A
        #expect(w.bytes == [0x7A, 0x00])
        w = ProtobufWriter()
        w.writeStringField(16, "")
        #expect(w.bytes == [0x82, 0x01, 0x00])
    }

    @Test func stringsFloatsAndRawData() {
        var w = ProtobufWriter()
        w.writeStringField(4, "Relu")
        #expect(w.bytes == [0x22, 0x04, 0x52, 0x65, 0x6C, 0x75])
        w = ProtobufWriter()
        w.writeStringField(1, "é")                    // UTF-8, length counts bytes
        #expect(w.bytes == [0x0A, 0x02, 0xC3, 0xA9])
        w = ProtobufWriter()
        w.writeFloatField(2, 1.0)                     // fixed32: key (2 << 3) | 5 = 0x15
        #expect(w.bytes == [0x15, 0x00, 0x00, 0x80, 0x3F])
        w = ProtobufWriter()
        w.writeRepeatedFloatField(7, [-2.0, 0.5])
        #expect(w.bytes == [0x3D, 0x00, 0x00, 0x00, 0xC0, 0x3D, 0x00, 0x00, 0x00, 0x3F])
        w = ProtobufWriter()
        w.writeRepeatedInt64Field(8, [1, 300])        // unpacked, as proto2 writes it
        #expect(w.bytes == [0x40, 0x01, 0x40, 0xAC, 0x02])
        w = ProtobufWriter()
        w.writeFloat32RawDataField(9, [1.0, -0.0, 6.0])
        #expect(w.bytes == [0x4A, 0x0C, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0xC0, 0x40])
        #expect(ONNXRawTensorFile.encode([1.0, -0.0, 6.0]) == Array(w.bytes.dropFirst(2)))
    }

    @Test func nestedMessages() {
        // ModelProto.opset_import (8) { domain (1) = "", version (2) = 13 }
        var w = ProtobufWriter()
        w.writeMessageField(8) { o in
            o.writeStringField(1, "")
            o.writeInt64Field(2, 13)
        }
        #expect(w.bytes == [0x42, 0x04, 0x0A, 0x00, 0x10, 0x0D])

        // TypeProto { tensor_type (1) { elem_type (1) = 1, shape (2) { dim { dim_param "N" }, dim { dim_value 3 } } } }
        w = ProtobufWriter()
        w.writeMessageField(1) { t in
            t.writeInt64Field(1, 1)
            t.writeMessageField(2) { s in
                s.writeMessageField(1) { d in d.writeStringField(2, "N") }
                s.writeMessageField(1) { d in d.writeInt64Field(1, 3) }
            }
        }
        #expect(w.bytes == [0x0A, 0x0D, 0x08, 0x01, 0x12, 0x09,
                            0x0A, 0x03, 0x12, 0x01, 0x4E,
                            0x0A, 0x02, 0x08, 0x03])

        // An empty embedded message still gets its key and a zero length.
        w = ProtobufWriter()
        w.writeMessageField(7) { _ in }
        #expect(w.bytes == [0x3A, 0x00])

        // A nested body of 200 bytes needs a two-byte length prefix.
        w = ProtobufWriter()
        w.writeMessageField(9) { b in b.writeBytesField(1, [UInt8](repeating: 0xAB, count: 197)) }
        #expect(Array(w.bytes.prefix(6)) == [0x4A, 0xC8, 0x01, 0x0A, 0xC5, 0x01])
        #expect(w.bytes.count == 3 + 200)
    }
}
