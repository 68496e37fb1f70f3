/// Fixed-size, 64-byte aligned byte storage shared by tensors (zero-initialised unless a kernel that
/// overwrites every byte asks for it uninitialised).
///
/// A buffer is written only while it is being built (by a decoder or a kernel writing its output)
/// and treated as immutable once it is wrapped in a `Tensor` that others can see.
public final class TensorBuffer: @unchecked Sendable {
    public let byteCount: Int
    public let baseAddress: UnsafeMutableRawPointer

    public static let alignment = 64
    /// The budget this buffer's bytes are charged to while it lives (see `RequestMemory.charging`).
    private var chargedBudget: MemoryBudget?

    /// Returns the memory of released large buffers kept for reuse to the system; for after a model load,
    /// whose temporary buffers would otherwise be kept.
    public static func releaseRecycledMemory() {
        BufferRecycler.shared.releaseAll()
    }

    public convenience init(byteCount: Int) {
        self.init(uninitializedByteCount: byteCount)
        baseAddress.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    /// A buffer whose bytes are undefined; the creator must write every byte before sharing it.
    public init(uninitializedByteCount byteCount: Int) {
        self.byteCount = byteCount
        if byteCount >= BufferRecycler.minimumBytes {
            baseAddress = BufferRecycler.shared.take(BufferRecycler.blockSize(byteCount), alignment: Self.alignment)
            if let charge = RequestMemory.currentCharge, charge.charge(byteCount) {
                chargedBudget = charge.budget
            }
        } else {
            baseAddress = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        }
    }

    /// A buffer holding a copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(uninitializedByteCount: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 {
            baseAddress.copyMemory(from: source, byteCount: bytes.count)
        }
    }

    /// Stops charging this buffer to the budget of the run that created it, for a buffer that outlives
    /// the run (a variable's new value). Call it before the buffer is visible to other threads.
    public func endCharge() {
        guard let budget = chargedBudget else { return }
        chargedBudget = nil
        budget.release(byteCount)
    }

    deinit {
        chargedBudget?.release(byteCount)
        if byteCount >= BufferRecycler.minimumBytes {
            BufferRecycler.shared.give(baseAddress, size: BufferRecycler.blockSize(byteCount))
        } else {
            baseAddress.deallocate()
        }
    }

    public var rawBuffer: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: baseAddress, count: byteCount)
    }

    public func typed<T>(_ type: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(start: baseAddress.assumingMemoryBound(to: T.self), count: count)
    }
}
