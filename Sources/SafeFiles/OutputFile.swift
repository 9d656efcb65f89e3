import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure writing an output file, naming the path and the system's reason.
public struct OutputFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "cannot write \(path): \(reason)" }
}

/// The one way this project writes a whole file. Regular files and new paths are replaced
/// atomically: the bytes go to a temporary sibling (`.NAME.tmp-PID-RANDOM`, flushed to disk),
/// which is then renamed over the destination, so a reader or a crash never sees a half-written
/// file and a failure leaves the old file intact. Anything else is written through, never
/// replaced: see ``write(_:to:)-(Data,_)``.
public enum OutputFile {
    /// The path that means standard output.
    public static let standardOutput = "-"

    /// Writes `data` to `path`:
    /// - `-`: standard output;
    /// - a new path or a regular file: atomically (temporary sibling + rename, permissions kept);
    /// - a symbolic link: the same rules applied to its target, the link itself stays (a dangling
    ///   link's target is created through it);
    /// - anything under `/dev/` or `/proc/` (`/dev/stdout` even when it leads to a regular file a
    ///   shell redirected to), and any device, FIFO or socket: written through, never replaced;
    /// - a directory: an error.
    public static func write(_ data: Data, to path: String) throws(OutputFileError) {
        if path == standardOutput {
            try writeAll(data, to: STDOUT_FILENO, path: "standard output")
            return
        }
        if isSystemPath(path) {  // /dev/stdout may name the regular file a shell redirected to: never replace it
            try writeThrough(data, to: path, create: false)
            return
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            var link = stat()
            if code == ENOENT && lstat(path, &link) == 0 {
                try writeThrough(data, to: path, create: true)
            } else if code == ENOENT {
                try replaceAtomically(data, at: path)
            } else {
                throw OutputFileError(path: path, reason: String(cString: strerror(code)))
            }
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: try replaceAtomically(data, at: resolved(path))
        case S_IFDIR: throw OutputFileError(path: path, reason: "it is a directory")
        default: try writeThrough(data, to: path, create: false)
        }
    }

    /// Whether `path` is `-`, under `/dev/` or `/proc/`, or a device, FIFO or socket (after
    /// links): written through, not replaced.
    public static func isStream(_ path: String) -> Bool {
        if path == standardOutput || isSystemPath(path) { return true }
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let kind = info.st_mode & S_IFMT
        return kind != S_IFREG && kind != S_IFDIR
    }

    /// Paths under `/dev/` and `/proc/` (`/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/1`) are
    /// written through whatever they lead to.
    static func isSystemPath(_ path: String) -> Bool { path.hasPrefix("/dev/") || path.hasPrefix("/proc/") }

    /// The path with symbolic links resolved (the target a link names), or `path` itself.
    static func resolved(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// Opens `path` for writing without replacing it and writes `data`.
    static func writeThrough(_ data: Data, to path: String, create: Bool) throws(OutputFileError) {
        // O_APPEND: a regular file reached through /dev/stdout is a shell's redirection, continued, not overwritten.
        let fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : O_APPEND), 0o666)
        guard fd >= 0 else { throw OutputFileError(path: path, reason: systemReason()) }
        defer { close(fd) }
        try writeAll(data, to: fd, path: path)
    }

    public static func write(_ bytes: [UInt8], to path: String) throws(OutputFileError) {
        try write(Data(bytes), to: path)
    }

    public static func write(_ text: String, to path: String) throws(OutputFileError) {
        try write(Data(text.utf8), to: path)
    }

    /// Temporary sibling + `rename(2)`. The temporary file takes the permissions of the file it
    /// replaces, if any.
    static func replaceAtomically(_ data: Data, at path: String) throws(OutputFileError) {
        let folder = PathParts.folder(of: path)
        let temp = (folder.hasSuffix("/") ? folder : folder + "/")
            + ".\(PathParts.name(of: path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw OutputFileError(path: path, reason: "cannot create a file in \(folder): \(systemReason())")
        }
        var existing = stat()
        if stat(path, &existing) == 0 { _ = fchmod(fd, existing.st_mode & 0o7777) }
        do throws(OutputFileError) {
            try writeAll(data, to: fd, path: path)
            guard fsync(fd) == 0 || errno == EINVAL else { throw OutputFileError(path: path, reason: systemReason()) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let reason = systemReason()
            unlink(temp)
            throw OutputFileError(path: path, reason: reason)
        }
    }

    /// Writes every byte of `data` to `fd`, retrying short writes and interruptions.
    static func writeAll(_ data: Data, to fd: Int32, path: String) throws(OutputFileError) {
        let failure: String? = data.withUnsafeBytes { raw -> String? in
            var offset = 0
            while offset < raw.count {
                let n = rawWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return systemReason()
                }
                offset += n
            }
            return nil
        }
        if let failure { throw OutputFileError(path: path, reason: failure) }
    }

    /// `strerror(errno)` ("No space left on device").
    static func systemReason() -> String { String(cString: strerror(errno)) }
}

/// `write(2)` (a file-level function, so the name does not resolve to ``OutputFile/write(_:to:)``).
private func rawWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
