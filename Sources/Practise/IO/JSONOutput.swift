import Foundation
import SafeFiles

extension OutputFile {
    /// Encodes `value` as pretty, key-sorted JSON and writes it with ``OutputFile/write(_:to:)-(Data,_)``.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(enc.encode(value), to: path)
    }
}
