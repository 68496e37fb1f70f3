#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// Whether the bytes are a mapping of their own, unmapped on release (see `fromSystem`).
    let isMapped: Bool

    @TaskLocal static var allocatesFromSystem = false

    /// Runs `body` with the large buffers it creates mapped from the system on their own and unmapped
    /// when released, instead of taken from and given back to the reuse pool: for loading a model, whose
    /// buffers are either kept for the model's life or temporary, so a released one lowers the resident
    /// memory at once rather than waiting in the pool.
    public static func fromSystem<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        let outcome: Swift.Result<Result, Failure> = $allocatesFromSystem.withValue(true) {
            do throws(Failure) { return .success(try body()) } catch { return .failure(error) }
        }
        return try outcome.get()
    }

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
            if Self.allocatesFromSystem, let mapped = Self.map(BufferRecycler.blockSize(byteCount)) {
                baseAddress = mapped
                isMapped = true
            } else {
                baseAddress = BufferRecycler.shared.take(BufferRecycler.blockSize(byteCount), alignment: Self.alignment)
                isMapped = false
            }
            if let charge = RequestMemory.currentCharge, charge.charge(byteCount) {
                chargedBudget = charge.budget
            }
        } else {
            baseAddress = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
            isMapped = false
        }
    }

    /// `size` bytes (a multiple of the page size) mapped on their own, or nil where that is not available.
    private static func map(_ size: Int) -> UnsafeMutableRawPointer? {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              address != MAP_FAILED else { return nil }
        return address
        #else
        return nil
        #endif
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
        if isMapped {
            #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
            munmap(baseAddress, BufferRecycler.blockSize(byteCount))
            #endif
        } else if byteCount >= BufferRecycler.minimumBytes {
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
