import CoreMetrics

/// One series of a microsecond latency histogram.
public struct LatencyRecorder: Sendable {
    let recorder: Recorder

    public func record(nanoseconds: UInt64) {
        recorder.record(Int64(clamping: nanoseconds / 1000))
    }
}
