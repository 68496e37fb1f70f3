import CoreMetrics
import Prometheus
import ServingMetrics

/// A private Prometheus registry set up like the server's, and its text exposition parsed back.
struct TestRegistry {
    let registry = PrometheusCollectorRegistry()

    var factory: PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets = ServingMetricFamilies.histogramBuckets
        return factory
    }

    var text: String { registry.emitToString() }

    var samples: [Sample] { Sample.parse(text) }

    /// The value of the one sample named `name` whose labels include `labels`; nil if there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.count == 1 ? matching[0].value : nil
    }
}

/// One line of the text format: `name{label="value",...} value`.
struct Sample: Equatable {
    var name: String
    var labels: [String: String]
    var labelOrder: [String]
    var value: Double

    static func parse(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line in line.hasPrefix("#") ? nil : parse(line: line) }
    }

    /// Parses one sample line, undoing the label value escapes (`\\`, `\"`, `\n`).
    static func parse(line: Substring) -> Sample? {
        var name = ""
        var labels: [String: String] = [:]
        var order: [String] = []
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " {
            name.append(line[index])
            index = line.index(after: index)
        }
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                var key = ""
                while line[index] != "=" { key.append(line[index]); index = line.index(after: index) }
                index = line.index(index, offsetBy: 2)
                var value = ""
                while line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        value.append(line[index] == "n" ? "\n" : line[index])
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                index = line.index(after: index)
                if line[index] == "," { index = line.index(after: index) }
                labels[key] = value
                order.append(key)
            }
            index = line.index(after: index)
        }
        guard let value = Double(line[index...].trimmingPrefix(" ")) else { return nil }
        return Sample(name: name, labels: labels, labelOrder: order, value: value)
    }
}
