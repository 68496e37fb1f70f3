import Foundation
import NIOCore
import ServingMetrics

/// The status page's data, `GET /v1/status`:
/// `{"time_unix_ms":…, "latency_bucket_upper_us":[…], "models":[{"name", "base_path", "labels":{label: "version"},
/// "versions":[{"version", "state", "error_code", "message", "loaded_at_unix_ms", "load_ms"}],
/// "requests":{"ok", "errors", "latency_counts":[…]}, "queues":[{"signature", "version", "queued", "running",
/// "executions", "executed_requests", "executed_rows"}]}]}`. Counts are cumulative since start; a reader
/// takes differences between two reads for rates, window percentiles and mean batch sizes.
enum StatusJSON {
    static func encode(_ report: ServerStatusReport, nowUnixMillis: Int64) -> ByteBuffer {
        var writer = JSONWriter(capacity: 1024 + report.models.count * 1024)
        writer.beginObject()
        writer.key("time_unix_ms")
        writer.int(nowUnixMillis)
        writer.key("latency_bucket_upper_us")
        writer.beginArray()
        for bound in LiveRequestStatistics.bucketUpperBoundsNanos { writer.uint(bound / 1000) }
        writer.endArray()
        writer.key("models")
        writer.beginArray()
        for model in report.models.sorted(by: { $0.name < $1.name }) { encode(model, into: &writer) }
        writer.endArray()
        writer.endObject()
        return writer.buffer
    }

    private static func encode(_ model: ServerStatusReport.Model, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("name")
        writer.string(model.name)
        writer.key("base_path")
        writer.string(model.basePath)
        writer.key("labels")
        writer.beginObject()
        for (label, version) in model.labels.sorted(by: { $0.key < $1.key }) {
            writer.key(label)
            writer.string(String(version))
        }
        writer.endObject()
        writer.key("versions")
        writer.beginArray()
        for version in model.versions {
            writer.beginObject()
            writer.key("version")
            writer.string(String(version.status.version))
            writer.key("state")
            writer.string(version.status.state.name)
            writer.key("error_code")
            writer.string(version.status.error?.code.name ?? "OK")
            writer.key("message")
            writer.string(version.status.message)
            writer.key("loaded_at_unix_ms")
            if let loaded = version.loadedAtUnixMillis { writer.int(loaded) } else { writer.null() }
            writer.key("load_ms")
            if let millis = version.loadMilliseconds { writer.int(Int64(millis)) } else { writer.null() }
            writer.endObject()
        }
        writer.endArray()
        writer.key("requests")
        writer.beginObject()
        writer.key("ok")
        writer.int(Int64(model.requests.succeeded))
        writer.key("errors")
        writer.int(Int64(model.requests.failed))
        writer.key("latency_counts")
        writer.beginArray()
        for count in model.requests.latencyCounts { writer.int(Int64(count)) }
        writer.endArray()
        writer.endObject()
        writer.key("queues")
        writer.beginArray()
        for queue in model.queues {
            writer.beginObject()
            writer.key("signature")
            writer.string(queue.signature)
            writer.key("version")
            writer.string(String(queue.version))
            for (key, value) in [("queued", queue.queuedRequests), ("running", queue.running),
                                 ("executions", queue.executions), ("executed_requests", queue.executedRequests),
                                 ("executed_rows", queue.executedRows)] {
                writer.key(key)
                writer.int(Int64(value))
            }
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
    }
}
