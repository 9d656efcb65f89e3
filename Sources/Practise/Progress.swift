import Foundation

/// A single updating progress line on stderr when it is a terminal; silent when piped.
public final class ProgressLine: @unchecked Sendable {
    public let enabled: Bool
    private var lastWidth = 0
    private var lastDraw = Date.distantPast

    public init(enabled: Bool = isatty(2) != 0) { self.enabled = enabled }

    /// Redraws the line (at most ten times a second unless `force`).
    public func update(_ text: String, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        if !force && now.timeIntervalSince(lastDraw) < 0.1 { return }
        lastDraw = now
        let pad = max(0, lastWidth - text.count)
        FileHandle.standardError.write(("\r" + text + String(repeating: " ", count: pad)).data(using: .utf8)!)
        lastWidth = text.count
    }

    /// Clears the line.
    public func finish() {
        guard enabled, lastWidth > 0 else { return }
        FileHandle.standardError.write(("\r" + String(repeating: " ", count: lastWidth) + "\r").data(using: .utf8)!)
        lastWidth = 0
    }
}

/// Errors of the method with messages a user can act on.
public struct PractiseError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
