import Dispatch
import Foundation
import NIOCore
import ServingMetrics
import Synchronization
import TFProtos
import Tensors
import Transport
@testable import API

/// A servable whose predict runs `behaviour` on a background queue.
final class FakeServable: Servable {
    let modelName: String
    let version: Int64
    let signatures: [String: SignatureSpec]
    let behaviour: @Sendable (String, [String: Tensor]) -> Result<[String: Tensor], ServingError>
    let calls = Mutex<[(signature: String, inputs: [String: Tensor])]>([])
    /// The deadline of each call, in order.
    let deadlines = Mutex<[UInt64?]>([])

    init(
        modelName: String = "m",
        version: Int64 = 3,
        signatures: [String: SignatureSpec],
        behaviour: @escaping @Sendable (String, [String: Tensor]) -> Result<[String: Tensor], ServingError> = { _, inputs in
            .success(inputs)
        }
    ) {
        self.modelName = modelName
        self.version = version
        self.signatures = signatures
        self.behaviour = behaviour
    }

    func predict(
        signature: String,
        inputs: [String: Tensor],
        outputFilter: [String],
        api: InferenceAPI,
        deadline: UInt64?,
        isCancelled: (@Sendable () -> Bool)?,
        completion: @escaping @Sendable (Result<[String: Tensor], ServingError>) -> Void
    ) {
        calls.withLock { $0.append((signature, inputs)) }
        deadlines.withLock { $0.append(deadline) }
        let behaviour = behaviour
        DispatchQueue.global().async {
            completion(behaviour(signature, inputs))
        }
    }

    var callCount: Int { calls.withLock { $0.count } }
}

/// A backend with one model; records the selectors it was asked for.
final class FakeBackend: ServingBackend {
    let servable: FakeServable
    let statuses: [ModelVersionStatus]
    let requestedSpecs = Mutex<[ModelSpec]>([])
    let requestedVersions = Mutex<[VersionSelector]>([])
    /// What `reloadModels` answers, and the lists it was given.
    let reloadOutcome: ServingError?
    let reloadedLists = Mutex<[Tensorflow_Serving_ModelConfigList]>([])

    init(
        servable: FakeServable, statuses: [ModelVersionStatus] = [ModelVersionStatus(version: 3, state: .available)],
        reloadOutcome: ServingError? = nil
    ) {
        self.servable = servable
        self.statuses = statuses
        self.reloadOutcome = reloadOutcome
    }

    func reloadModels(
        _ list: Tensorflow_Serving_ModelConfigList, isCancelled: @escaping @Sendable () -> Bool,
        completion: @escaping @Sendable (ServingError?) -> Void
    ) {
        reloadedLists.withLock { $0.append(list) }
        let outcome = reloadOutcome
        DispatchQueue.global().async { completion(outcome) }
    }

    func servable(for spec: ModelSpec) throws(ServingError) -> any Servable {
        requestedSpecs.withLock { $0.append(spec) }
        guard spec.name == servable.modelName else {
            throw .notFound("Servable not found for request: Latest(\(spec.name))")
        }
        return servable
    }

    func versionStatus(model: String, version: VersionSelector) throws(ServingError) -> [ModelVersionStatus] {
        requestedVersions.withLock { $0.append(version) }
        guard model == servable.modelName else {
            throw .notFound("Could not find any versions of model \(model)")
        }
        return statuses
    }

    var isReady: Bool { true }
}

/// Captures the one response; `wait()` blocks until it arrives.
final class CapturingWriter: ResponseWriter {
    private let stored = Mutex<ServerResponse?>(nil)
    private let arrived = DispatchSemaphore(value: 0)
    private let cancelled: Bool

    init(cancelled: Bool = false) { self.cancelled = cancelled }

    var isCancelled: Bool { cancelled }

    func respond(_ response: ServerResponse) {
        stored.withLock { $0 = response }
        arrived.signal()
    }

    func wait(seconds: Double = 5) -> ServerResponse? {
        guard arrived.wait(timeout: .now() + seconds) == .success else { return nil }
        return stored.withLock { $0 }
    }
}

/// A route handler that answers 200 with a fixed text, for dispatch tests.
struct MarkerHandler: APIRouteHandler {
    let marker: String

    func handle(_ request: ServerRequest, path: Substring, writer: any ResponseWriter) {
        writer.respond(ServerResponse(status: 200, body: ByteBuffer(string: marker)))
    }
}

enum Fixtures {
    static func spec(_ dtype: DType, _ dims: [Int]?, tensor: String) -> TensorSpec {
        TensorSpec(tensorName: tensor, dtype: dtype, shape: ShapeSpec(dims))
    }

    static func signature(
        _ inputs: [String: TensorSpec], outputs: [String: TensorSpec] = [:], name: String = "serving_default"
    ) -> SignatureSpec {
        SignatureSpec(name: name, methodName: "tensorflow/serving/predict", inputs: inputs, outputs: outputs)
    }

    /// `x: DT_FLOAT [-1, 4]` → `y: DT_FLOAT [-1, 4]`.
    static let floatSignature = signature(
        ["x": spec(.float32, [-1, 4], tensor: "serving_default_x:0")],
        outputs: ["y": spec(.float32, [-1, 4], tensor: "StatefulPartitionedCall:0")])

    /// `y = 2x` for a float input `x`.
    static let doubling: @Sendable (String, [String: Tensor]) -> Result<[String: Tensor], ServingError> = { _, inputs in
        guard let x = inputs["x"] else { return .failure(.invalidArgument("no x")) }
        let doubled = x.scalars(as: Float.self).map { $0 * 2 }
        return .success(["y": Tensor(doubled, shape: x.shape)])
    }
}

func request(_ method: String, _ path: String, body: String = "", headers: [HeaderField] = []) -> ServerRequest {
    ServerRequest(method: method, path: path, headers: headers, body: ByteBuffer(string: body), version: .http1_1)
}

func send(_ router: APIRouter, _ request: ServerRequest) -> ServerResponse? {
    let writer = CapturingWriter()
    router.handle(request, writer: writer)
    return writer.wait()
}

extension ServerResponse {
    var text: String { String(buffer: body) }

    func json() -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    var errorMessage: String? { (json() as? [String: Any])?["error"] as? String }

    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
}
