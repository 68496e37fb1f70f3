import CoreMetrics

/// One exported metric: its name, the label names every one of its series carries (in this order),
/// and whether it is a counter, a gauge or a histogram with fixed bucket upper bounds.
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case counter
        case gauge
        case histogram(buckets: [Double])
    }

    public let name: String
    public let labelNames: [String]
    public let kind: Kind

    public init(name: String, labelNames: [String], kind: Kind) {
        self.name = name
        self.labelNames = labelNames
        self.kind = kind
    }

    /// The counter of the series with `labelValues`, one value per label name.
    func counter(_ labelValues: String..., factory: any MetricsFactory) -> Counter {
        Counter(label: name, dimensions: dimensions(labelValues), factory: factory)
    }

    /// The gauge of the series with `labelValues`, one value per label name.
    func gauge(_ labelValues: String..., factory: any MetricsFactory) -> Gauge {
        Gauge(label: name, dimensions: dimensions(labelValues), factory: factory)
    }

    /// The histogram of the series with `labelValues`, one value per label name.
    func histogram(_ labelValues: String..., factory: any MetricsFactory) -> Recorder {
        Recorder(label: name, dimensions: dimensions(labelValues), aggregate: true, factory: factory)
    }

    private func dimensions(_ values: [String]) -> [(String, String)] {
        assert(values.count == labelNames.count, "\(name) takes the labels \(labelNames)")
        return Array(zip(labelNames, values))
    }

    /// TensorFlow's `Buckets::Exponential(scale, growth, count)` upper bounds: `scale · growthⁱ` for
    /// i in 0..<count, kept to six significant digits as TensorFlow Serving prints them (18, 32.4, 58.32, …).
    public static func exponentialBuckets(scale: Double, growth: Double, count: Int) -> [Double] {
        var bounds: [Double] = []
        bounds.reserveCapacity(count)
        var bound = scale
        for _ in 0..<count {
            bounds.append(sixSignificantDigits(bound))
            bound *= growth
        }
        return bounds
    }

    private static func sixSignificantDigits(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return value }
        var exponent = 0
        var scaled = value
        while scaled >= 1_000_000 { scaled /= 10; exponent += 1 }
        while scaled < 100_000 { scaled *= 10; exponent -= 1 }
        var power = 1.0
        for _ in 0..<abs(exponent) { power *= 10 }
        return exponent >= 0 ? (value / power).rounded() * power : (value * power).rounded() / power
    }
}
