import Foundation

/// A value that threads share, read and changed only while holding a pthread mutex.
///
/// Used instead of `Synchronization.Mutex` where ThreadSanitizer runs over contended code: on Linux it
/// does not see the hand-over in that mutex's contended path and reports the accesses it guards as races,
/// while it follows pthread mutexes.
public final class LockedValue<Value> {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

extension LockedValue: @unchecked Sendable where Value: Sendable {}
