import CKernels
import Engine

/// Runs `body` at every SIMD level this CPU runs (the highest first) and on 1 and 2 threads,
/// giving it a label such as `level 2, 1 threads` for messages; restores the level and the
/// thread count in force before.
public func forEachSIMDLevelAndThreadCount(_ body: (_ label: String) -> Void) {
    let saved = pk_simd_level(), savedThreads = Threads.count
    defer { _ = pk_set_simd_level(saved); Threads.count = savedThreads }
    let top = pk_set_simd_level(2)
    for level in (0...top).reversed() {
        _ = pk_set_simd_level(level)
        for threads in [1, 2] {
            Threads.count = threads
            body("level \(level), \(threads) threads")
        }
    }
}
