import Batching
import ServingMetrics
import Tensors

/// Holds a version's servable for the version and its batch queues, so that its end means nothing can run
/// the servable any more; reports that end once the servable is gone.
final class ServableOwner: @unchecked Sendable {
    /// Storage of its own (written once, here), so the servable can be released before `ended` runs.
    private let storage: UnsafeMutablePointer<any LoadedServable>
    private let ended: @Sendable () -> Void

    init(_ servable: any LoadedServable, ended: @escaping @Sendable () -> Void) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: servable)
        self.ended = ended
    }

    var servable: any LoadedServable { storage.pointee }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
        ended()
    }
}

/// A loaded, routable model version: the servable plus one batch queue per signature.
public final class ServableVersion: Sendable {
    public let model: String
    public let version: Int64
    public let directory: String
    /// The model's request metrics, shared by all its versions.
    public let metrics: ModelMetrics
    let owner: ServableOwner
    private let queues: [String: BatchQueue]

    public var servable: any LoadedServable { owner.servable }

    /// `released` runs once neither the version nor its queues hold the servable any more.
    init(model: String, version: Int64, directory: String, servable: any LoadedServable,
         scheduler: BatchScheduler, batching: BatchingOptions, released: @escaping @Sendable () -> Void = {}) {
        self.model = model
        self.version = version
        self.directory = directory
        let owner = ServableOwner(servable, ended: released)
        self.owner = owner
        self.metrics = ModelMetrics.served(model)
        var queues: [String: BatchQueue] = [:]
        for name in servable.signatures.keys {
            queues[name] = scheduler.makeQueue(name: "model \(model) version \(version) signature \(name)",
                                               options: batching,
                                               depth: BatchingMetrics.queueDepth(model: model, version: version, signature: name)) {
                inputs throws(ServingError) in
                try owner.servable.run(signature: name, inputs: inputs)
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
