import Foundation

/// Reading the JSON files the tool writes (analysis settings, manifests, results, latency
/// tables): a file that does not decode is described in words, never as a raw `DecodingError`.
public enum JSONInput {
    /// What is wrong with `data` that failed to decode with `error`: empty, not JSON, or the
    /// first missing key or mismatched value with its path.
    public static func describe(_ error: Error, data: Data? = nil) -> String {
        if let data, data.allSatisfy({ [0x20, 0x0a, 0x0d, 0x09].contains($0) }) { return "the file is empty" }
        switch error as? DecodingError {
        case .keyNotFound(let key, let c)?:
            let at = c.codingPath.map(\.stringValue).joined(separator: ".")
            return "missing key '\(at.isEmpty ? "" : at + ".")\(key.stringValue)'"
        case .dataCorrupted(let c)? where c.codingPath.isEmpty:
            // JSONDecoder says only "not valid JSON"; the parser beneath it says where, or which
            // number does not fit ("Number 1e400 is not representable in Swift.").
            return "not valid JSON" + (data.flatMap(syntaxDetail).map { " (\($0))" } ?? "")
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?, .dataCorrupted(let c)?:
            return "at \(c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }

    /// The JSON parser's own account of why `data` does not parse, without a trailing full stop.
    static func syntaxDetail(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            guard let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String, !text.isEmpty else { return nil }
            return text.hasSuffix(".") ? String(text.dropLast()) : text
        }
    }
}
