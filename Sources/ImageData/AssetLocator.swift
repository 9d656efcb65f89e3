import Foundation

/// Finds the repository's `Assets` folder at run time.
///
/// Candidates, in order (the first that contains `marker` wins):
/// 1. `$PRACTISE_ASSETS` (the Assets folder itself);
/// 2. `<exe dir>/../../../Assets` (SwiftPM: `.build/<triple>/<config>/exe`);
/// 3. `<exe dir>/Assets` (installed next to the binary);
/// 4. `./Assets` (current directory);
/// 5. the `Assets` folder of the package this source file belongs to,
///    found by walking up from `#filePath` (`Sources/ImageData/…/../../Assets`).
public enum AssetLocator {
    public static let environmentVariable = "PRACTISE_ASSETS"

    /// Candidate folders in search order (not checked for existence).
    public static func candidates(filePath: String = #filePath) -> [String] {
        var list = [String]()
        if let env = ProcessInfo.processInfo.environment[environmentVariable], !env.isEmpty {
            list.append(env)
        }
        if let exeDir = executableDirectory() {
            list.append(standardize(exeDir + "/../../../Assets"))
            list.append(standardize(exeDir + "/Assets"))
        }
        list.append(standardize(FileManager.default.currentDirectoryPath + "/Assets"))
        var dir = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            list.append(dir.appendingPathComponent("Assets").path)
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        return list
    }

    /// The first candidate containing `marker` (a relative path such as
    /// `fashion-mnist-subset`), or `DataError.assetsNotFound` listing them all.
    public static func locate(containing marker: String, filePath: String = #filePath) throws -> String {
        let all = candidates(filePath: filePath)
        for c in all where FileIO.exists(FileIO.join(c, marker)) { return c }
        throw DataError.assetsNotFound(searched: all)
    }

    static func executableDirectory() -> String? {
        #if os(Linux)
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: target).deletingLastPathComponent().path
        }
        #endif
        if let url = Bundle.main.executableURL {
            return url.resolvingSymlinksInPath().deletingLastPathComponent().path
        }
        return nil
    }

    static func standardize(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
