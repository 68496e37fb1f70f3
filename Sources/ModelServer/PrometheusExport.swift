import CoreMetrics
import Prometheus
import ServingMetrics

/// The Prometheus registry every module's swift-metrics handles record into once
/// `--monitoring_config_file` enables Prometheus.
enum PrometheusExport {
    /// A factory for `registry` with the exported histograms' fixed buckets.
    static func factory(for registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets = ServingMetricFamilies.histogramBuckets
        return factory
    }

    /// Makes a new registry the process's metrics backend; call once, before any metric is created.
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(factory(for: registry))
        return registry
    }
}
