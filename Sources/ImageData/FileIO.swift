import Foundation

/// Small file-system helpers that turn Foundation failures into `DataError`s
/// naming the path.
enum FileIO {
    /// Whole file as bytes, refused when it is larger than `limit` bytes (`what` names the kind
    /// of file in that error). A regular file's size is checked before reading; anything else
    /// (a pipe, a device) is read up to one byte past the limit.
    static func read(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError.fileNotFound(path: path)
        }
        if isDir.boolValue { throw DataError.unreadable(path: path, reason: "is a directory") }
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            throw DataError.unreadable(path: path, reason: "not a regular file (a device, FIFO or socket)")
        }
        if Int(info.st_size) > limit {
            throw DataError.tooLarge(path: path, what: what, found: "\(info.st_size) bytes", limit: "\(limit) bytes")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or I/O error")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw DataError.unreadable(path: path, reason: "\(error)")
        }
        guard data.count <= limit else {
            throw DataError.tooLarge(path: path, what: what, found: "more than \(limit) bytes", limit: "\(limit) bytes")
        }
        return [UInt8](data)
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
