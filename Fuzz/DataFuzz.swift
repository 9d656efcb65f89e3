// libFuzzer harness for the data readers (JPEG/PNG decoders, IDX, CIFAR).
//
// Built by Scripts/fuzz-data together with the reader files of Sources/ImageData into one
// module (so it can reach the internal `DataFuzzing.run`), with the C shims and ZlibSupport
// built by the script. FUZZ_TARGET=image|idx|cifar picks the readers (default: all).
import Foundation

nonisolated(unsafe) let fuzzTargets: [DataFuzzing.Target] = {
    guard let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"], !name.isEmpty else { return DataFuzzing.Target.allCases }
    guard let target = DataFuzzing.Target(rawValue: name) else { fatalError("FUZZ_TARGET must be image, idx or cifar") }
    return [target]
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func dataFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    DataFuzzing.run(Array(UnsafeBufferPointer(start: data, count: size)), targets: fuzzTargets)
    return 0
}
