import Foundation
import CKernels

/// A contiguous, 64-byte aligned buffer of `Float32` owned by one or more tensors.
///
/// Storage is a reference type: tensors that share it see each other's writes. Ops never
/// write into their inputs' storage; only optimisers and explicit in-place helpers do.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Bumped by every in-place writer that others may have cached derived data from (optimiser
    /// steps, state-dict loading): caches such as ``ConvWeightPack`` compare it. Code that writes
    /// into a parameter's storage through `pointer` calls ``markModified()``.
    public private(set) var version = 0

    /// Allocates `count` floats. Contents are uninitialised unless `zeroed`.
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "negative storage size \(count)")
        _ = Self.allocatorTuned
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard let raw = pk_buffer_alloc(bytes) else { fatalError("out of memory allocating \(bytes) bytes") }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    deinit { pk_buffer_free(pointer, max(count, 1) * MemoryLayout<Float>.stride) }

    /// Keeps freed activation buffers in the process heap (Linux/glibc).
    ///
    /// By default glibc serves every block above a sliding threshold (128 KiB … 32 MiB) with a
    /// fresh `mmap` and unmaps it on `free`, so each training step's activations and gradients
    /// are page-faulted and zeroed by the kernel again: about 10% of a ResNet-56 step here.
    /// `pk_keep_freed_blocks_in_heap` (CKernels/allocator.c, also run at load time) fixes the
    /// thresholds and uses one arena so freed blocks are reused instead; referencing it here
    /// keeps it linked into every binary that uses the engine.
    static let allocatorTuned: Void = pk_keep_freed_blocks_in_heap()

    /// Records an in-place write (see ``version``).
    public func markModified() { version &+= 1 }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }
}
