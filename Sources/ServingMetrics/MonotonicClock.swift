import Dispatch

/// The monotonic clock latencies are measured with.
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Nanoseconds from `start` to now; 0 if the clock reads earlier.
    public static func nanoseconds(since start: UInt64) -> UInt64 {
        let now = nanoseconds()
        return now > start ? now - start : 0
    }
}
