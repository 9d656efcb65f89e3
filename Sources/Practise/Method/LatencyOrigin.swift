import CKernels
import Engine
import Foundation

/// Where latency figures came from: measured here, or a latency table made on a deployment
/// machine (its CPU, threads, batch and engine).
public struct LatencyOrigin: Sendable, Codable, Equatable {
    /// `measured here` or `table FILE`.
    public var source: String
    public var cpu: String
    public var threads: Int
    public var batch: Int
    public var engine: String

    public init(source: String, cpu: String, threads: Int, batch: Int, engine: String) {
        self.source = source; self.cpu = cpu; self.threads = threads; self.batch = batch; self.engine = engine
    }

    /// This machine with this engine, at `threads` and `batch`.
    public static func here(threads: Int, batch: Int) -> LatencyOrigin {
        LatencyOrigin(source: "measured here", cpu: MachineDescription.cpuModel, threads: threads, batch: batch,
                      engine: MachineDescription.engine)
    }

    /// One line for reports: `table t.json: AMD EPYC, 2 threads, batch 64, onnxruntime 1.17`.
    public var summary: String { "\(source): \(cpu), \(threads) thread\(threads == 1 ? "" : "s"), batch \(batch), \(engine)" }
}

/// The CPU and engine this process runs on, as reports and latency tables name them.
public enum MachineDescription {
    /// `model name` of /proc/cpuinfo (or `unknown CPU`).
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown CPU"
    }

    /// The vector level the kernels run at: `avx512`, `avx2` or `portable`.
    public static var simdLevel: String { ["portable", "avx2", "avx512"][Int(max(0, min(2, pk_simd_level())))] }

    /// `practise 0.1.0 (avx512)`.
    public static var engine: String { "practise \(ToolVersion.string) (\(simdLevel))" }
}
