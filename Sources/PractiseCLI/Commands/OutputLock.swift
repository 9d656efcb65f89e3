import Foundation
import Practise
import SafeFiles

/// The lock that keeps two runs from writing the same output folder: `OUT.lock` beside it,
/// held for the whole run (the kernel drops it if the process dies).
enum OutputLock {
    static func acquire(for out: String) throws -> FileLock {
        let path = (out.hasSuffix("/") ? String(out.dropLast()) : out) + ".lock"
        do throws(FileLockError) { return try FileLock.acquire(path) } catch {
            if error.reason == nil {
                throw PractiseError("another practise run\(error.holder.map { " (pid \($0))" } ?? "") is writing \(out) (it holds \(path)); wait for it to finish or use another --out")
            }
            throw PractiseError("--out \(out): cannot use its lock file \(path): \(error.reason!)")
        }
    }
}

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
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
        if let other = entries.sorted().first(where: { !Self.entries.contains($0) && !$0.hasPrefix(".") }) {
            throw PractiseError("\(work) holds \(other), which compress does not write: it is not the work folder of an interrupted compress; move it away or use another --out")
        }
    }
}
