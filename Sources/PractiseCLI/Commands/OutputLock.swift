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
