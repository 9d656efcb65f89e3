import Foundation
import SafeFiles

extension OutputFile {
    /// Encodes `value` as pretty, key-sorted JSON and writes it (a NaN or infinity is an error naming its key) with ``OutputFile/write(_:to:)-(Data,_)``.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try enc.encode(value) } catch let EncodingError.invalidValue(v, context) {
            let key = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw PractiseError("cannot write \(path): JSON cannot hold \(key.isEmpty ? "the value" : key) = \(v) (not a finite number)")
        }
        try write(data, to: path)
    }
}
