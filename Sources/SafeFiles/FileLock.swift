import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Another process holds the lock, or the lock file cannot be used.
public struct FileLockError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    /// The holder's process id as it wrote it into the lock file, when known.
    public var holder: Int32?
    public var reason: String?
    public var description: String {
        if let reason { return "cannot lock \(path): \(reason)" }
        return "another practise run (\(holder.map { "pid \($0)" } ?? "unknown pid")) holds \(path); wait for it to finish or use another output folder"
    }
}

/// An exclusive, non-blocking advisory lock (`flock(2)`) on a lock file that holds the owner's
/// pid. The lock ends with ``release()`` or when the process exits (the kernel drops it even
/// after a crash); ``release()`` also removes the file. Taking the lock checks that the file
/// locked is still the one at `path`, so a file removed by a releasing owner is never shared.
public final class FileLock {
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) { self.path = path; self.fd = fd }

    /// Takes the lock on `path` (creating the file), or throws ``FileLockError`` at once when
    /// another process holds it.
    public static func acquire(_ path: String) throws(FileLockError) -> FileLock {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileLockError(path: path, reason: String(cString: strerror(errno))) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                let holder = readPid(fd)
                close(fd)
                if code == EWOULDBLOCK { throw FileLockError(path: path, holder: holder) }
                throw FileLockError(path: path, reason: String(cString: strerror(code)))
            }
            var locked = stat(), current = stat()
            if fstat(fd, &locked) == 0, stat(path, &current) == 0, locked.st_ino == current.st_ino, locked.st_dev == current.st_dev {
                // A file of someone else's at this path is theirs: never overwritten, never removed.
                // Ours hold a pid (a killed run's lock is taken over) or nothing (just created).
                if !isLockContent(fd) {
                    close(fd)
                    throw FileLockError(path: path, reason: "the file exists and is not a practise lock (it holds something other than a process id); move it away")
                }
                let text = "\(getpid())\n"
                _ = ftruncate(fd, 0)
                _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
                return FileLock(path: path, fd: fd)
            }
            close(fd)  // the owner released (and removed) it between our open and flock: try again
        }
    }

    /// Removes the lock file and drops the lock.
    public func release() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    deinit { release() }

    /// Whether the file holds what a lock of ours holds: nothing, or one process id and a newline.
    private static func isLockContent(_ fd: Int32) -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        if info.st_size == 0 { return true }
        return info.st_size <= 32 && readPid(fd) != nil
    }

    private static func readPid(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
