import Batching
import ServingMetrics
import Tensors

/// A loaded, routable model version: the servable plus one batch queue per signature.
public final class ServableVersion: Sendable {
    public let model: String
    public let version: Int64
    public let directory: String
    public let servable: any LoadedServable
    /// The model's request metrics, shared by all its versions.
    public let metrics: ModelMetrics
    private let queues: [String: BatchQueue]

    init(model: String, version: Int64, directory: String, servable: any LoadedServable,
         scheduler: BatchScheduler, batching: BatchingOptions) {
        self.model = model
        self.version = version
        self.directory = directory
        self.servable = servable
        self.metrics = ModelMetrics.served(model)
        var queues: [String: BatchQueue] = [:]
        for name in servable.signatures.keys {
            queues[name] = scheduler.makeQueue(name: "model \(model) version \(version) signature \(name)",
                                               options: batching,
                                               depth: BatchingMetrics.queueDepth(model: model, version: version, signature: name)) {
                inputs throws(ServingError) in
                try servable.run(signature: name, inputs: inputs)
            }
        }
        self.queues = queues
    }

    public var signatures: [String: SignatureSpec] { servable.signatures }

    /// Each signature's batch queue depth and the work it has done.
    public var queueStatistics: [String: BatchQueueStatistics] { queues.mapValues(\.statistics) }

    /// Queues a request on the signature's batch queue; `completion` runs on a batch thread.
    /// Throws at once for an unknown signature or a full queue. With `api`, the computation's
    /// duration is recorded as that API's runtime latency. A request whose client has gone away by the
    /// time its batch starts (`isCancelled`) is not computed.
    public func predict(
        signature: String, inputs: [String: Tensor], deadlineNanos: UInt64? = nil, api: InferenceAPI? = nil,
        isCancelled: CancellationCheck? = nil, completion: @escaping BatchCompletion
    ) throws(ServingError) {
        guard let queue = queues[signature] else {
            let known = queues.keys.sorted().joined(separator: ", ")
            throw .invalidArgument(
                "Serving signature name: \"\(signature)\" not found in signature def of model \(model) version \(version); available signatures: \(known)")
        }
        try queue.submit(
            inputs, deadlineNanos: deadlineNanos, computeLatency: api.map(metrics.runtimeLatency), isCancelled: isCancelled,
            completion: completion)
    }
}
