import ArgumentParser
import Foundation
import ImageData
import NN
import SafeFiles

/// The bounds every command checks its options against before any work starts (README, Limits).
enum Limits {
    /// Largest batch of any phase, evaluation or latency measurement.
    static let maxBatch = 4096
    /// Input side accepted by `blocks`, `latency` and `export`.
    static let imageSide = ModelSpec.inputSideRange
    /// Largest batch × side² of a latency measurement (64 images of 512×512): beyond it one
    /// forward pass alone needs gigabytes.
    static let maxLatencyPixels = 64 * 512 * 512
    static let inChannels = ModelSpec.inChannelsRange
    static let numClasses = ModelSpec.numClassesRange
    static let iterations = 0...10_000_000
    static let epochs = 1...100_000
    static let samples = 1...10_000_000
    /// Smallest normalisation std (``Normalization/minStd``).
    static let minStd = Normalization.minStd
    /// Threads: at most this many times the machine's cores (more only slows every kernel down).
    static let threadsPerCore = 4
    static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
    static var threads: ClosedRange<Int> { 1...(threadsPerCore * cores) }
}

/// One check per rule, each naming the option, the valid range and what was given.
enum Check {
    static func range(_ option: String, _ value: Int?, _ valid: ClosedRange<Int>, unit: String = "") throws {
        guard let value else { return }
        guard valid.contains(value) else {
            let shown = valid.upperBound == Int.max ? "at least \(valid.lowerBound)" : "in \(valid.lowerBound)...\(valid.upperBound)"
            throw ValidationError("\(option) must be \(shown)\(unit), got \(value)")
        }
    }

    /// A learning rate or another strictly positive, finite number.
    static func positive(_ option: String, _ value: Float?) throws {
        guard let value else { return }
        guard value.isFinite && value > 0 else { throw ValidationError("\(option) must be a finite number > 0, got \(value)") }
    }

    static func nonNegative(_ option: String, _ value: Float?) throws {
        guard let value else { return }
        guard value.isFinite && value >= 0 else { throw ValidationError("\(option) must be a finite number >= 0, got \(value)") }
    }

    /// A fraction strictly between 0 and 1.
    static func fraction(_ option: String, _ value: Double?) throws {
        guard let value else { return }
        guard value.isFinite && value > 0 && value < 1 else {
            throw ValidationError("\(option) must be a fraction between 0 and 1 (exclusive), e.g. 0.22; got \(value)")
        }
    }

    /// A comma-separated list of block paths: at least one, none empty, none repeated.
    static func blockList(_ option: String, _ text: String) throws -> [String] {
        let list = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !list.contains(where: \.isEmpty) else {
            throw ValidationError("\(option) must name one or more blocks, comma-separated (e.g. layer1.1,layer2.1); got '\(text)'")
        }
        if let repeated = list.first(where: { b in list.filter { $0 == b }.count > 1 }) {
            throw ValidationError("\(option) names \(repeated) twice")
        }
        return list
    }

    /// At most one of the options named (with whether each was given).
    static func atMostOne(_ options: [(String, Bool)]) throws {
        let given = options.filter(\.1).map(\.0)
        guard given.count <= 1 else { throw ValidationError("give only one of \(options.map(\.0).joined(separator: ", ")); got \(given.joined(separator: " and "))") }
    }

    /// A file the command will write: `-` (where allowed), a device or FIFO, or a path whose folder exists.
    static func outputFile(_ option: String, _ path: String?, allowStdout: Bool = true) throws {
        guard let path else { return }
        guard !path.isEmpty else { throw ValidationError("\(option) must not be empty; give a file") }
        if path == "-" {
            guard allowStdout else { throw ValidationError("\(option) cannot be '-' (standard output) here; give a file") }
            return
        }
        if isDirectory(path) { throw ValidationError("\(option) \(path) is a directory; expected a file") }
        if FileManager.default.fileExists(atPath: path) && OutputFile.isStream(path) {
            // A device, FIFO or /dev, /proc path is written through: it must take writes itself.
            guard access(path, W_OK) == 0 else {
                throw ValidationError("\(option) \(path): cannot write to it (\(String(cString: strerror(errno))))")
            }
            return
        }
        try parentExists(option, path)
    }

    /// A folder the command will create (or replace with --force): its parent must be a folder.
    static func outputFolder(_ option: String, _ path: String) throws {
        guard !path.isEmpty else { throw ValidationError("\(option) must not be empty") }
        guard !path.allSatisfy({ $0 == "/" }) else { throw ValidationError("\(option) \(path) is the root folder; give a folder for this run's files") }
        // `.`, `..` or an absolute path to the working folder or above it: replacing it would take the user's files.
        let target = URL(fileURLWithPath: path).standardizedFileURL.path   // relative paths resolve against the working folder
        if (FileManager.default.currentDirectoryPath + "/").hasPrefix(target + "/") {
            throw ValidationError("\(option) \(path) is the current folder or holds it; give a folder for this run's files")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
            throw ValidationError("\(option) \(path) is a file; expected a folder")
        }
        try parentExists(option, path)
    }

    static func parentExists(_ option: String, _ path: String) throws {
        let folder = PathParts.folder(of: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            throw ValidationError("\(option) \(path): the folder \(folder) does not exist")
        }
        guard isDir.boolValue else { throw ValidationError("\(option) \(path): \(folder) is a file, not a folder") }
        guard access(folder, W_OK) == 0 else {
            throw ValidationError("\(option) \(path): cannot write into \(folder) (\(String(cString: strerror(errno))))")
        }
        // access() says yes to root for read-only and virtual file systems (/proc, /sys): create
        // and remove a probe file, as the command's own files will be created there.
        var probe = Array((folder == "/" ? "/" : folder + "/").utf8CString.dropLast()) + Array(".practise-probe-XXXXXX".utf8CString)
        let fd = probe.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ValidationError("\(option) \(path): cannot create files in \(folder) (\(String(cString: strerror(errno))))")
        }
        close(fd)
        probe.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    }

    /// An output folder the command writes into without replacing it (a resumable analysis):
    /// absent, empty, or holding one of `markers` (the files such a run leaves).
    static func ownFolder(_ option: String, _ path: String, markers: [String], what: String) throws {
        guard isDirectory(path), let entries = try? FileManager.default.contentsOfDirectory(atPath: path), !entries.isEmpty else { return }
        guard markers.contains(where: entries.contains) else {
            throw ValidationError("\(option) \(path) is a folder holding other files, not \(what) (it has no \(markers.joined(separator: " or "))); give a new or empty folder")
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// Comma-separated finite numbers (`--mean`, `--std`).
    static func numbers(_ option: String, _ text: String) throws -> [Float] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { p in
            guard let v = Float(p), v.isFinite else {
                throw ValidationError("\(option) must be comma-separated finite numbers, got '\(text)' ('\(p)' is not one)")
            }
            return v
        }
    }
}

/// The environment variables the engine reads, checked once at start: a value we cannot use is
/// an error naming the variable, never silently ignored.
enum EngineEnvironment {
    #if arch(x86_64)
    static let architecture = "x86-64", simdLevels = ["avx512", "avx2", "portable"]
    #elseif arch(arm64)
    static let architecture = "arm64", simdLevels = ["neon", "portable"]
    #else
    static let architecture = "portable-only", simdLevels = ["portable"]
    #endif

    static func check(_ env: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let s = env["PRACTISE_THREADS"] {
            guard let n = Int(s.trimmingCharacters(in: .whitespaces)), Limits.threads.contains(n) else {
                throw ValidationError("PRACTISE_THREADS='\(s)' is not a thread count: expected an integer in \(Limits.threads.lowerBound)...\(Limits.threads.upperBound) (\(Limits.threadsPerCore) × \(Limits.cores) cores)")
            }
        }
        if let s = env["PRACTISE_SIMD"], !simdLevels.contains(s) {
            throw ValidationError("PRACTISE_SIMD='\(s)' is not a SIMD level of this \(architecture) machine: expected \(simdLevels.joined(separator: ", ")) (a level above the CPU's is capped to it)")
        }
        for name in ["PRACTISE_WINOGRAD", "PRACTISE_DIRECT"] {
            if let s = env[name], !["0", "1"].contains(s) { throw ValidationError("\(name)='\(s)' must be 0 (off) or 1 (on)") }
        }
    }
}
