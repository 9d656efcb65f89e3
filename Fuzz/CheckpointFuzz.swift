// libFuzzer harness for the Checkpoint readers.
//
// Built by Scripts/fuzz-checkpoint together with Sources/Checkpoint/*.swift
// into one module (so it can reach the internal `CheckpointFuzzing.run`),
// linked with the ZlibSupport module the script builds first.

@_cdecl("LLVMFuzzerTestOneInput")
public func checkpointFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    CheckpointFuzzing.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
