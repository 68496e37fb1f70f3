@testable import Tensors
import Testing

@Suite struct BufferRecyclerTests {
    @Test func releasedBlocksAreReusedBySize() {
        let recycler = BufferRecycler(capacityBytes: 1 << 20)
        let size = BufferRecycler.blockSize(100_000)
        #expect(size == 102_400)
        let first = recycler.take(size, alignment: 64)
        recycler.give(first, size: size)
        #expect(recycler.keptBytes == size)
        let other = recycler.take(BufferRecycler.blockSize(300_000), alignment: 64)
        #expect(other != first)
        #expect(recycler.take(size, alignment: 64) == first)
        #expect(recycler.keptBytes == 0)
        recycler.give(first, size: size)
        recycler.give(other, size: BufferRecycler.blockSize(300_000))
        #expect(recycler.keptBytes == size + BufferRecycler.blockSize(300_000))
    }

    @Test func memoryBeyondTheCapacityIsFreed() {
        let recycler = BufferRecycler(capacityBytes: 200_000)
        let size = BufferRecycler.blockSize(100_000)
        let blocks = (0..<3).map { _ in recycler.take(size, alignment: 64) }
        for block in blocks { recycler.give(block, size: size) }
        #expect(recycler.keptBytes == size)
    }

    @Test func releasingEverythingEmptiesThePool() {
        let recycler = BufferRecycler(capacityBytes: 1 << 20)
        let size = BufferRecycler.blockSize(100_000)
        let blocks = (0..<3).map { _ in recycler.take(size, alignment: 64) }
        for block in blocks { recycler.give(block, size: size) }
        #expect(recycler.keptBytes == 3 * size)
        recycler.releaseAll()
        #expect(recycler.keptBytes == 0)
    }

    @Test func zeroedBuffersAreZeroEvenWhenTheirMemoryIsReused() {
        let byteCount = 256 << 10
        for round in 0..<4 {
            let zeroed = TensorBuffer(byteCount: byteCount)
            let bytes = zeroed.rawBuffer
            #expect(bytes.allSatisfy { $0 == 0 }, "round \(round)")
            bytes.initializeMemory(as: UInt8.self, repeating: 0xA5)
            let copied = [UInt8](repeating: 7, count: byteCount).withUnsafeBytes { TensorBuffer(copying: $0) }
            #expect(copied.rawBuffer.allSatisfy { $0 == 7 })
        }
    }
}
