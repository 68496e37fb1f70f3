import Synchronization

/// A metric handle created on first use and then read without a lock.
final class LazyHandle<Handle: AnyObject & Sendable>: Sendable {
    private let storage = AtomicLazyReference<Handle>()

    func get(_ make: () -> Handle) -> Handle {
        if let handle = storage.load() { return handle }
        return storage.storeIfNil(make())
    }
}
