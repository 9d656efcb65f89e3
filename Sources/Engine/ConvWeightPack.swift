import CKernels
/// A convolution weight `[O, C/groups, kH, kW]` packed once into the GEMM kernels' panel layout,
/// for inference: each group's `[O/groups, C/groups·kH·kW]` matrix, so a forward pass reads the
/// packed panels instead of re-packing (and transposing) the weight on every call.
///
/// Valid while the weight's storage is unchanged: it remembers the storage and its
/// ``Storage/version`` and ``isValid(for:)`` compares them.
public final class ConvWeightPack: @unchecked Sendable {
    public let weight: Tensor
    /// One packed matrix per group, for the column-matrix product (empty where Winograd always applies).
    let matrices: [PackedMatrix]
    /// The Winograd-transformed weight, for stride-1 3×3 convs (groups 1) when Winograd is on.
    let winograd: WinogradWeights?
    /// The weight in the direct kernel's layout, for stride-1 convs at the levels that have it (AVX-512, AVX2).
    let direct: DirectConvWeights?
    private let version: Int

    /// Packs `weight` for convolutions with `groups` groups and `stride` (nil for depthwise
    /// convs, which use a direct kernel and no GEMM).
    public init?(weight: Tensor, groups: Int, stride: Int) {
        let s = weight.shape
        precondition(s.count == 4 && s[0] % groups == 0, "ConvWeightPack: weight \(s) is not [O, C/groups, kH, kW] for \(groups) groups")
        if groups > 1 && groups == s[0] && s[1] == 1 { return nil }
        let og = s[0] / groups, k = s[1] * s[2] * s[3]
        self.weight = weight
        version = weight.storage.version
        // Winograd weights where a stride-1 3×3 conv can take that path (enough channels); the
        // direct kernel's layout for other stride-1 convs with a kernel wider than 1×1 (AVX-512, AVX2);
        // the plain packed matrices wherever neither may apply (fewer than 128 channels also need
        // a large enough image for Winograd, and the direct kernel needs 32 output pixels, which
        // are only known per call).
        let channels = min(s[0], s[1])
        if ConvAlgorithms.winograd && groups == 1 && stride == 1 && s[2] == 3 && s[3] == 3
            && channels >= WinogradPlan.minimumChannels {
            winograd = WinogradWeights(weight.pointer, outChannels: s[0], inChannels: s[1])
        } else {
            winograd = nil
        }
        let winogradAlways = winograd != nil && channels >= 2 * WinogradPlan.minimumChannels
        direct = !winogradAlways && ConvAlgorithms.direct && pk_conv_direct_available(pk_simd_level()) != 0 && stride == 1
            && s[2] <= 7 && s[3] <= 7 && s[2] * s[3] > 1
            ? DirectConvWeights(weight.pointer, groups: groups, groupOut: og, columnRows: k) : nil
        matrices = winogradAlways ? []
            : (0..<groups).map { g in PackedMatrix(m: og, k: k, a: weight.pointer + g * og * k, lda: k) }
    }

    /// Whether this still holds `weight`'s current values.
    public func isValid(for weight: Tensor) -> Bool {
        weight.storage === self.weight.storage && weight.storage.version == version && weight.shape == self.weight.shape
    }
}
