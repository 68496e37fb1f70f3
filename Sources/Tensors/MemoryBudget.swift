import Synchronization

/// A bound on the bytes a group of allocations may hold together: the requests in flight, for
/// `RequestMemory.budget`. Reserving and releasing are single atomic operations, so they can sit on
/// request paths; a reservation that would pass the limit is undone and refused.
public final class MemoryBudget: Sendable {
    private let limit: Atomic<Int>
    private let used = Atomic<Int>(0)

    public init(limitBytes: Int) {
        limit = Atomic(limitBytes)
    }

    /// The bound, in bytes.
    public var limitBytes: Int {
        get { limit.load(ordering: .relaxed) }
        set { limit.store(newValue, ordering: .relaxed) }
    }

    /// Bytes currently reserved.
    public var bytesInUse: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` if they fit under the limit; false (and nothing taken) otherwise.
    public func reserve(_ bytes: Int) -> Bool {
        let total = used.wrappingAdd(bytes, ordering: .relaxed).newValue
        guard total <= limit.load(ordering: .relaxed) else {
            used.wrappingSubtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives back bytes taken by `reserve`.
    public func release(_ bytes: Int) {
        used.wrappingSubtract(bytes, ordering: .relaxed)
    }
}
