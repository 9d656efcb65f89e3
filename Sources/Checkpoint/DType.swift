/// Element types that can appear in a checkpoint file.
///
/// Raw values are the safetensors spellings (`"F32"`, `"BF16"`, ...). Every
/// type is converted to `Float` on load; ``TensorRecord/sourceDType`` keeps
/// the type the file stored.
public enum DType: String, Sendable, CaseIterable, Hashable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u8 = "U8"
    case bool = "BOOL"

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// The PyTorch storage class name (`torch.<name>`) that holds this type.
    var torchStorageName: String {
        switch self {
        case .f64: return "DoubleStorage"
        case .f32: return "FloatStorage"
        case .f16: return "HalfStorage"
        case .bf16: return "BFloat16Storage"
        case .i64: return "LongStorage"
        case .i32: return "IntStorage"
        case .i16: return "ShortStorage"
        case .i8: return "CharStorage"
        case .u8: return "ByteStorage"
        case .bool: return "BoolStorage"
        }
    }

    /// Maps `torch.FloatStorage`-style names to a dtype.
    static func fromTorchStorage(_ name: String) -> DType? {
        allCases.first { $0.torchStorageName == name }
    }

    /// Maps `torch.float32`-style dtype attribute names to a dtype.
    static func fromTorchDType(_ name: String) -> DType? {
        switch name {
        case "float64", "double": return .f64
        case "float32", "float": return .f32
        case "float16", "half": return .f16
        case "bfloat16": return .bf16
        case "int64", "long": return .i64
        case "int32", "int": return .i32
        case "int16", "short": return .i16
        case "int8": return .i8
        case "uint8": return .u8
        case "bool": return .bool
        default: return nil
        }
    }
}
