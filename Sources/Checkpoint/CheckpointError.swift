/// The single error type thrown by this module.
///
/// `description` is `"<file>: <message>"` (just the message when no file is
/// known), e.g.
/// `model.pth: tensor 'layer1.0.conv1.weight' needs 147456 bytes but storage 'data/3' has 1024`.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Last path component of the file being read or written, if known.
    public var file: String?
    /// What went wrong, naming the key, entry or byte offset involved.
    public var message: String

    public init(file: String? = nil, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }

    /// Returns a copy that names `file`, unless a file is already named.
    func naming(_ file: String) -> CheckpointError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }
}

/// Runs `body`, attaching `file` to any ``CheckpointError`` and wrapping
/// other errors (e.g. Foundation I/O errors) into one.
func withFileName<T>(_ file: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CheckpointError {
        throw error.naming(file)
    } catch {
        throw CheckpointError(file: file, "\(error)")
    }
}

/// Shorthand used by the parsers: `throw fail("...")`.
@inline(__always)
func fail(_ message: String) -> CheckpointError { CheckpointError(message) }
