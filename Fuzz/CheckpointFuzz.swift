// libFuzzer harness for the Checkpoint readers.
//
// Built by Scripts/fuzz-checkpoint together with Sources/Checkpoint/*.swift
// into one module (so it can reach the internal `CheckpointFuzzing.run`):
//
//     swiftc -sanitize=fuzzer,address -parse-as-library -O -I Sources/CZlib \
//         Sources/Checkpoint/*.swift Fuzz/CheckpointFuzz.swift -o checkpoint-fuzz

@_cdecl("LLVMFuzzerTestOneInput")
public func checkpointFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    CheckpointFuzzing.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
