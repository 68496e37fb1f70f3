@testable import Tensors
import Testing

@Suite struct TensorBufferTests {
    /// Inside `fromSystem` (a model load) large buffers are mappings of their own, unmapped when released,
    /// rather than blocks of the reuse pool; small buffers and buffers outside it are allocated as always.
    @Test func largeBuffersOfALoadAreMappedOnTheirOwn() {
        let large = BufferRecycler.minimumBytes
        let (mapped, small) = TensorBuffer.fromSystem {
            (TensorBuffer(byteCount: 3 * large + 5), TensorBuffer(uninitializedByteCount: large - 1))
        }
        #expect(mapped.isMapped)
        #expect(!small.isMapped)
        #expect(!TensorBuffer(uninitializedByteCount: large).isMapped)
        #expect(Int(bitPattern: mapped.baseAddress) % TensorBuffer.alignment == 0)
        #expect(mapped.rawBuffer.allSatisfy { $0 == 0 })
        mapped.rawBuffer.initializeMemory(as: UInt8.self, repeating: 7)
        #expect(mapped.rawBuffer.allSatisfy { $0 == 7 })
    }
}
