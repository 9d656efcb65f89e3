/// What `compress` removes from the teacher. Written into `report.json` as its raw value.
public enum CompressionScheme: String, Sendable, Codable, CaseIterable {
    /// Drop whole residual blocks chosen by recoverability ÷ latency reduction (``CompressionRun``).
    case blocks
    /// L1 filter pruning of every block's inner channels to one ratio (``ChannelCompressionRun``).
    case channels
}
