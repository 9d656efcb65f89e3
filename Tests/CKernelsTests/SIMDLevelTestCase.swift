import CKernels
import XCTest

/// A test case that runs kernels at each SIMD level this machine has: `levels` lists them, and
/// the level in force before each test (PRACTISE_SIMD in the reruns) is restored after it, so
/// later tests in the same process still run at that level.
class SIMDLevelTestCase: XCTestCase {
    private var savedLevel: Int32 = 0

    override func setUp() {
        super.setUp()
        savedLevel = pk_simd_level()
    }

    override func tearDown() {
        _ = pk_set_simd_level(savedLevel)
        super.tearDown()
    }

    /// Levels this machine can run: 0 ... detected level.
    var levels: [Int32] {
        let saved = pk_simd_level()
        let top = pk_set_simd_level(2)
        _ = pk_set_simd_level(saved)
        return Array(0...top)
    }
}
