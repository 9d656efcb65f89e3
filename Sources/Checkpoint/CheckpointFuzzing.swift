/// The fuzzing entry point shared by the XCTest mutation loop and the
/// libFuzzer harness (Fuzz/CheckpointFuzz.swift).
///
/// Feeds the same bytes to every parser: format detection + load, the zip
/// checkpoint reader with CRC checks off (so mutated pickles behind a zip
/// are still reached), the safetensors reader, and the unpickler plus
/// state-dict extraction directly. Errors are expected; a crash is a bug.
enum CheckpointFuzzing {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        _ = try? Checkpoint.decode(bytes: bytes, pathExtension: "safetensors")
        _ = try? TorchZip.decode(bytes: bytes, verifyChecksums: false)
        _ = try? SafeTensors.decode(bytes: bytes)
        let arena = PickleArena()
        defer { arena.teardown() }
        if let root = try? Unpickler.load(bytes, name: "fuzz.pkl", arena: arena) {
            _ = try? StateDictExtraction.extract(root)
        }
    }
}
