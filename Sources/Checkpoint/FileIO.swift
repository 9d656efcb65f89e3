import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole checkpoint file (memory-mapped when the file system allows).
enum FileInput {
    static func read(_ url: URL) throws -> Data {
        var info = stat()
        if stat(url.path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw fail("cannot read file: it is a directory")
            default: throw fail("cannot read file: not a regular file (a device, FIFO or socket)")
            }
        }
        do {
            return try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            let reason = (error as NSError).localizedDescription
            throw fail("cannot read file: \(reason)")
        }
    }
}
