import Foundation
import Practise

/// `OUT.partial`, where `compress` builds its outputs before moving them to `OUT`. A rerun
/// resumes in it, so it may exist; but only holding what a compress writes there.
enum WorkFolder {
    /// The entries a compress leaves in its work folder (and the hidden temporary files of its
    /// atomic writes).
    static let entries: Set<String> = ["analysis", "synthetic", "model.safetensors", "model.onnx", "report.json", "report.md",
                                       "candidates.svg", "samples.txt"]

    /// Refuses an existing `work` that is a file, or a folder holding anything else: it is not
    /// ours to fill and then move to `--out`.
    static func check(_ work: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: work, isDirectory: &isDir) else { return }
        guard isDir.boolValue else { throw PractiseError("\(work) exists and is a file, not the work folder of an interrupted compress; move it away") }
        if let other = foreignEntry(in: work) {
            throw PractiseError("\(work) holds \(other), which compress does not write: it is not the work folder of an interrupted compress; move it away or use another --out")
        }
    }

    /// The first entry of `folder` (sorted) that a compress does not write there, ignoring
    /// hidden files; nil when there is none.
    static func foreignEntry(in folder: String) -> String? {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            .first { !entries.contains($0) && !$0.hasPrefix(".") }
    }
}
