/// The folder and last component of a path, computed on the string (Foundation's
/// `NSString.deletingLastPathComponent` traps on some one-character paths).
public enum PathParts {
    /// `a/b/c` → `a/b`, `c` → `.`, `/c` → `/`; trailing slashes are ignored.
    public static func folder(of path: String) -> String {
        let p = trimmed(path)
        guard let slash = p.lastIndex(of: "/") else { return "." }
        let parent = p[..<slash]
        return parent.isEmpty ? "/" : String(parent)
    }

    /// `a/b/c` → `c`; trailing slashes are ignored.
    public static func name(of path: String) -> String {
        let p = trimmed(path)
        guard let slash = p.lastIndex(of: "/") else { return p }
        return String(p[p.index(after: slash)...])
    }

    static func trimmed(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }
}
