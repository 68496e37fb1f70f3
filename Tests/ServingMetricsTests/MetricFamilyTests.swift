import Foundation
import ServingMetrics
import Testing

@Suite struct MetricFamilyTests {
    @Test func exponentialBucketsAreTensorFlowsPrintedBounds() {
        let buckets = MetricFamily.exponentialBuckets(scale: 10, growth: 1.8, count: 33)
        #expect(buckets.count == 33)
        for (index, bound) in buckets.enumerated() {
            let exact = 10 * pow(1.8, Double(index))
            #expect(abs(bound - exact) <= exact * 5e-6, "bucket \(index): \(bound) vs \(exact)")
        }
        #expect(buckets.prefix(6).map(\.description) == ["10.0", "18.0", "32.4", "58.32", "104.976", "188.957"])
        #expect(MetricFamily.exponentialBuckets(scale: 1, growth: 2, count: 14).last == 8192)
    }

    @Test func everyFamilyHasAUniqueValidNameAndLabelNames() {
        let families = ServingMetricFamilies.all
        #expect(Set(families.map(\.name)).count == families.count)
        for family in families {
            #expect(family.name.hasPrefix(":tensorflow:"), "\(family.name)")
            #expect(family.name.allSatisfy { $0.isLetter || $0 == "_" || $0 == ":" }, "\(family.name)")
            #expect(Set(family.labelNames).count == family.labelNames.count, "\(family.name)")
            for label in family.labelNames {
                #expect(label.allSatisfy { $0.isLetter || $0 == "_" } && !label.hasPrefix("__"), "\(family.name): \(label)")
            }
        }
        let histograms = families.filter { if case .histogram = $0.kind { true } else { false } }
        #expect(Set(ServingMetricFamilies.histogramBuckets.keys) == Set(histograms.map(\.name)))
    }
}
