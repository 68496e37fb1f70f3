/// Keeps the memory of large tensor buffers that were released, for the next buffer of the same size.
///
/// A model run allocates the same large intermediates every time; taking them from here instead of
/// the system allocator avoids mapping, faulting in and zeroing fresh pages on every run. Blocks are
/// matched by size rounded up to 4 KiB; at most `capacityBytes` (512 MiB for tensors) are kept, beyond that memory goes
/// back to the system.
final class BufferRecycler: Sendable {
    static let shared = BufferRecycler(capacityBytes: 512 << 20)
    /// Buffers smaller than this come straight from the allocator, which already reuses them cheaply.
    static let minimumBytes = 64 << 10
    let capacityBytes: Int

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    private struct Pool {
        /// Rounded size → addresses of free blocks.
        var free: [Int: [UInt]] = [:]
        var bytes = 0
    }

    private let pool = LockedValue(Pool())

    /// The size a block for `byteCount` bytes has.
    static func blockSize(_ byteCount: Int) -> Int { (byteCount + 4095) & ~4095 }

    /// A block of `size` bytes (a `blockSize`), reused or new.
    func take(_ size: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let reused = pool.withLock { pool -> UInt? in
            guard let address = pool.free[size]?.popLast() else { return nil }
            pool.bytes -= size
            return address
        }
        if let reused, let pointer = UnsafeMutableRawPointer(bitPattern: reused) { return pointer }
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: alignment)
    }

    /// Returns a block from `take`; it is kept, or freed when the pool is full.
    func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        let kept = pool.withLock { pool -> Bool in
            guard pool.bytes + size <= capacityBytes else { return false }
            pool.free[size, default: []].append(UInt(bitPattern: pointer))
            pool.bytes += size
            return true
        }
        if !kept { pointer.deallocate() }
    }

    deinit { releaseAll() }

    /// Frees every kept block (after a model load, whose temporary buffers would otherwise stay here).
    func releaseAll() {
        let blocks = pool.withLock { pool -> [UInt] in
            let all = pool.free.values.flatMap { $0 }
            pool = Pool()
            return all
        }
        for address in blocks { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
    }

    /// Bytes currently kept for reuse.
    var keptBytes: Int { pool.withLock { $0.bytes } }
}
