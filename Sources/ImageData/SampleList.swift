import Foundation
import SafeFiles

/// Reading and writing the list of chosen samples.
///
/// File format: one sample per line, as `Dataset.sampleKey(at:)` writes it
/// — a path relative to the ImageFolder root (`<class>/<file>`), or a
/// decimal index for IDX and CIFAR. Blank lines and lines starting with `#`
/// are ignored. The reference's `samples.txt` form
/// `./train/<class>/<file>, <label>` is accepted: the text after the last
/// comma must then equal the sample's label, and leading path components
/// that are not part of the key (`./`, `train/`) are dropped.
public enum SampleList {
    /// How `dataset`'s sample keys look, for an error: indices with their range, or relative
    /// paths with an example.
    static func keyForm(of dataset: any Dataset) -> String {
        guard dataset.count > 0 else { return "none (the dataset is empty)" }
        let first = dataset.sampleKey(at: 0)
        if Int(first) != nil { return "indices 0...\(dataset.count - 1)" }
        return "paths relative to \(dataset.name), e.g. '\(first)'"
    }

    /// Writes the keys of `indices`, one per line.
    public static func write(_ indices: [Int], of dataset: any Dataset, to path: String) throws {
        var text = ""
        for i in indices {
            try dataset.checkIndex(i)
            text += dataset.sampleKey(at: i) + "\n"
        }
        do throws(OutputFileError) { try OutputFile.write(text, to: path) } catch { throw DataError.unreadable(path: path, reason: "cannot write: \(error.reason)") }
    }

    /// Reads a list back as indices into `dataset`, in file order.
    /// Throws `sampleNotFound` naming the file, line and entry for a sample
    /// the dataset lacks, `invalidSampleList` for a label mismatch or a
    /// duplicate, `emptyDataset` for a list without entries.
    public static func read(from path: String, for dataset: any Dataset) throws -> [Int] {
        let bytes = try FileIO.read(path, limit: DataLimits.sampleListBytes, what: "sample list")
        let text = String(decoding: bytes, as: UTF8.self)
        var result = [Int]()
        var seen = [Int: Int]()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = n + 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var key = line
            var label: Int?
            var index = dataset.index(forSampleKey: line)
            if index == nil, let comma = line.lastIndex(of: ",") {
                key = line[..<comma].trimmingCharacters(in: .whitespaces)
                let labelText = line[line.index(after: comma)...].trimmingCharacters(in: .whitespaces)
                guard let l = Int(labelText) else {
                    throw DataError.invalidSampleList(listFile: path, line: lineNumber,
                                                      reason: "label '\(labelText)' is not an integer")
                }
                label = l
                index = dataset.index(forSampleKey: key)
            }
            guard let index else {
                throw DataError.sampleNotFound(listFile: path, line: lineNumber, entry: key, expected: keyForm(of: dataset))
            }
            if let label, label != dataset.label(at: index) {
                throw DataError.invalidSampleList(listFile: path, line: lineNumber,
                    reason: "'\(key)' is listed with label \(label) but has label \(dataset.label(at: index))")
            }
            if let first = seen[index] {
                throw DataError.invalidSampleList(listFile: path, line: lineNumber,
                    reason: "'\(key)' is listed twice (first on line \(first))")
            }
            seen[index] = lineNumber
            result.append(index)
        }
        guard !result.isEmpty else { throw DataError.emptyDataset(path: path, reason: "sample list has no entries") }
        return result
    }
}
