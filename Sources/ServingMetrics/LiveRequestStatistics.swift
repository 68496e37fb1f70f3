import Synchronization
import Tensors

/// Cumulative request counts and a latency histogram of one model, kept in process whether or not
/// a metrics backend is bootstrapped, for the status page. Recording takes two atomic increments and
/// no lock; readers take differences between snapshots to get rates and percentiles over a window.
public final class LiveRequestStatistics: Sendable {
    /// Upper bounds of the latency buckets, in nanoseconds: 10 µs growing by 1.5x up to about 110 s;
    /// slower requests fall in a last, unbounded bucket.
    public static let bucketUpperBoundsNanos: [UInt64] = (0..<40).map { UInt64(10_000 * pow15($0)) }

    private final class Bucket: Sendable {
        let count = Atomic<Int>(0)
    }

    private let succeeded = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let buckets: [Bucket] = (0...LiveRequestStatistics.bucketUpperBoundsNanos.count).map { _ in Bucket() }

    public init() {}

    /// Counts one answered request; a successful one's latency goes to the histogram.
    public func record(_ status: StatusCode, nanoseconds: UInt64) {
        guard status == .ok else {
            failed.add(1, ordering: .relaxed)
            return
        }
        succeeded.add(1, ordering: .relaxed)
        let bounds = Self.bucketUpperBoundsNanos
        var low = 0, high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if nanoseconds <= bounds[middle] { high = middle } else { low = middle + 1 }
        }
        buckets[low].count.add(1, ordering: .relaxed)
    }

    /// Counts since start.
    public struct Snapshot: Sendable, Hashable {
        public var succeeded: Int
        public var failed: Int
        /// Successful requests per latency bucket (`bucketUpperBoundsNanos`, then the unbounded one).
        public var latencyCounts: [Int]
    }

    public var snapshot: Snapshot {
        Snapshot(succeeded: succeeded.load(ordering: .relaxed), failed: failed.load(ordering: .relaxed),
                 latencyCounts: buckets.map { $0.count.load(ordering: .relaxed) })
    }

    private static func pow15(_ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { value, _ in value * 1.5 }
    }
}
