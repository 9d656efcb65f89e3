import Foundation
import ZlibSupport

/// Small file-system helpers that turn Foundation failures into `DataError`s
/// naming the path.
enum FileIO {
    /// Whole file as bytes.
    static func read(_ path: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError.fileNotFound(path: path)
        }
        if isDir.boolValue { throw DataError.unreadable(path: path, reason: "is a directory") }
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            throw DataError.unreadable(path: path, reason: "not a regular file (a device, FIFO or socket)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or I/O error")
        }
        defer { try? handle.close() }
        do {
            let data = try handle.readToEnd() ?? Data()
            return [UInt8](data)
        } catch {
            throw DataError.unreadable(path: path, reason: "\(error)")
        }
    }

    /// Whole file; gunzipped when its first bytes are the gzip magic 1f 8b.
    static func readMaybeGzip(_ path: String) throws -> [UInt8] {
        let bytes = try read(path)
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            do {
                return try bytes.withUnsafeBytes { raw throws(Zlib.Failure) in
                    try Zlib.inflate(raw, framing: .gzipOrZlib, limit: Int.max - 1)
                }
            } catch {
                throw DataError.malformed(path: path, reason: "gzip: \(error)")
            }
        }
        return bytes
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// Entry names of a directory (unsorted), or a `DataError` naming it.
    static func list(_ path: String) throws -> [String] {
        guard isDirectory(path) else {
            if exists(path) { throw DataError.unreadable(path: path, reason: "not a directory") }
            throw DataError.fileNotFound(path: path)
        }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw DataError.unreadable(path: path, reason: "\(error)")
        }
    }

    /// `a/b` with exactly one slash between.
    static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// Python's `sorted()` order for strings: by Unicode code point
    /// (equivalently by UTF-8 bytes), not Swift's locale-free `<`.
    static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
