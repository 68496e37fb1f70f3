import ServingMetrics
import TFProtos
import Tensors

/// Which version of a model a request addresses.
public enum VersionSelector: Sendable, Hashable {
    /// The newest available version.
    case latest
    case number(Int64)
    case label(String)
}

/// A request's model coordinates, as decoded from a URL path or a protobuf `ModelSpec`.
public struct ModelSpec: Sendable, Hashable {
    public var name: String
    public var version: VersionSelector
    /// nil means the default signature (`serving_default`).
    public var signatureName: String?

    public init(name: String, version: VersionSelector = .latest, signatureName: String? = nil) {
        self.name = name
        self.version = version
        self.signatureName = signatureName
    }
}

/// Lifecycle state of one model version, numbered as TF Serving's `ModelVersionStatus.State`.
public enum ModelVersionState: Int, Sendable, Hashable {
    case unknown = 0
    case start = 10
    case loading = 20
    case available = 30
    case unloading = 40
    case end = 50

    public var name: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .start: "START"
        case .loading: "LOADING"
        case .available: "AVAILABLE"
        case .unloading: "UNLOADING"
        case .end: "END"
        }
    }
}

/// One row of a model's status report; `error` is set when a load failed.
public struct ModelVersionStatus: Sendable, Hashable {
    public var version: Int64
    public var state: ModelVersionState
    public var error: ServingError?
    /// Why the version is where it is when that is not an error (what a START version waits for);
    /// reported as the status message with code OK.
    public var detail: String?

    public init(version: Int64, state: ModelVersionState, error: ServingError? = nil, detail: String? = nil) {
        self.version = version
        self.state = state
        self.error = error
        self.detail = detail
    }

    /// The status message: the error's, else the detail, else empty.
    public var message: String { error?.message ?? detail ?? "" }
}

/// A loaded model version resolved for one request; valid for as long as the caller holds it.
public protocol Servable: Sendable {
    var modelName: String { get }
    var version: Int64 { get }
    var signatures: [String: SignatureSpec] { get }

    /// The model's request metrics; resolved once per model, not per request.
    var metrics: ModelMetrics { get }

    /// Runs `signature` on `inputs` (already validated against the spec by the caller or not: the
    /// servable validates again and reports what was wrong) for a request of `api`. Work still queued at
    /// `deadline` (`DispatchTime` uptime nanoseconds) is dropped with DEADLINE_EXCEEDED, and work whose
    /// `isCancelled` is true when its computation would start (the client reset its stream or closed
    /// the connection) is dropped with CANCELLED, leaving the rest of its batch as it was. `completion` is
    /// called exactly once, on a compute thread, never on the caller's stack.
    func predict(
        signature: String,
        inputs: [String: Tensor],
        outputFilter: [String],
        api: InferenceAPI,
        deadline: UInt64?,
        isCancelled: (@Sendable () -> Bool)?,
        completion: @escaping @Sendable (Result<[String: Tensor], ServingError>) -> Void
    )
}

extension Servable {
    public var metrics: ModelMetrics { ModelMetrics.served(modelName) }
}

/// What the protocol layer needs from the model lifecycle: find a servable, report status.
public protocol ServingBackend: Sendable {
    /// The servable for `spec`, or NOT_FOUND / UNAVAILABLE with TF Serving's wording.
    func servable(for spec: ModelSpec) throws(ServingError) -> any Servable

    /// Status of all versions of a model (or just `version`), newest first; NOT_FOUND if unknown.
    func versionStatus(model: String, version: VersionSelector) throws(ServingError) -> [ModelVersionStatus]

    /// Whether every model has at least one available version.
    var isReady: Bool { get }

    /// Replaces the served models with `list` (TF Serving's HandleReloadConfigRequest) and calls
    /// `completion` once the models it adds or moves are available (nil) or with why one is not; gives
    /// up waiting when `isCancelled` turns true.
    func reloadModels(
        _ list: Tensorflow_Serving_ModelConfigList, isCancelled: @escaping @Sendable () -> Bool,
        completion: @escaping @Sendable (ServingError?) -> Void)

    /// Every model, its versions and live figures, for the status page.
    func statusReport() -> ServerStatusReport
}

extension ServingBackend {
    public func reloadModels(
        _ list: Tensorflow_Serving_ModelConfigList, isCancelled: @escaping @Sendable () -> Bool,
        completion: @escaping @Sendable (ServingError?) -> Void
    ) {
        completion(.unimplemented("This server does not reload its models on request"))
    }

    public func statusReport() -> ServerStatusReport { ServerStatusReport(models: []) }
}
