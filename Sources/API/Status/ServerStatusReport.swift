import ServingMetrics

/// Everything the status page shows: every model with its versions, labels and live figures.
public struct ServerStatusReport: Sendable {
    /// One model version.
    public struct Version: Sendable {
        public var status: ModelVersionStatus
        /// When it became available (Unix milliseconds) and how long its load took; nil unless it serves.
        public var loadedAtUnixMillis: Int64?
        public var loadMilliseconds: Int?

        public init(status: ModelVersionStatus, loadedAtUnixMillis: Int64? = nil, loadMilliseconds: Int? = nil) {
            self.status = status
            self.loadedAtUnixMillis = loadedAtUnixMillis
            self.loadMilliseconds = loadMilliseconds
        }
    }

    /// One signature's batch queue of a serving version.
    public struct Queue: Sendable {
        public var signature: String
        public var version: Int64
        public var queuedRequests: Int
        public var running: Int
        public var executions: Int
        public var executedRequests: Int
        public var executedRows: Int

        public init(signature: String, version: Int64, queuedRequests: Int, running: Int, executions: Int,
                    executedRequests: Int, executedRows: Int) {
            self.signature = signature
            self.version = version
            self.queuedRequests = queuedRequests
            self.running = running
            self.executions = executions
            self.executedRequests = executedRequests
            self.executedRows = executedRows
        }
    }

    public struct Model: Sendable {
        public var name: String
        public var basePath: String
        public var labels: [String: Int64]
        public var versions: [Version]
        public var queues: [Queue]
        public var requests: LiveRequestStatistics.Snapshot

        public init(name: String, basePath: String, labels: [String: Int64], versions: [Version], queues: [Queue],
                    requests: LiveRequestStatistics.Snapshot) {
            self.name = name
            self.basePath = basePath
            self.labels = labels
            self.versions = versions
            self.queues = queues
            self.requests = requests
        }
    }

    public var models: [Model]

    public init(models: [Model]) {
        self.models = models
    }
}
