import ServingMetrics
import Synchronization
import Tensors

/// TF Serving's Classify and Regress over a signature that reads serialized `tf.Example` protos: which
/// signatures qualify, how the examples are fed, and how the outputs become results — shared by the REST
/// and gRPC front ends.
enum ExampleInference {
    /// The REST verb and the gRPC method's lower-case name.
    enum Kind: String, Sendable {
        case classify
        case regress

        var methodName: String {
            switch self {
            case .classify: "tensorflow/serving/classify"
            case .regress: "tensorflow/serving/regress"
            }
        }

        var apiName: String {
            switch self {
            case .classify: "classification"
            case .regress: "regression"
            }
        }

        /// The kind a MultiInference task's `method_name` asks for.
        init?(methodName: String) {
            switch methodName {
            case Kind.classify.methodName: self = .classify
            case Kind.regress.methodName: self = .regress
            default: return nil
            }
        }

        var api: InferenceAPI {
            switch self {
            case .classify: .classify
            case .regress: .regress
            }
        }
    }

    /// One class of one example: a label when the signature has `classes`, a score when it has `scores`.
    struct Class: Sendable, Equatable {
        var label: [UInt8]
        var score: Float
    }

    enum Outcome: Sendable {
        /// Per example, its classes in the model's order.
        case classifications([[Class]])
        /// One value per example.
        case regressions([Float])
    }

    static let inputKey = "inputs"
    static let classesKey = "classes"
    static let scoresKey = "scores"
    static let regressionKey = "outputs"

    /// The signature a request names (or `serving_default`), checked as TF Serving checks it.
    static func signature(_ name: String?, of servable: any Servable, for kind: Kind) throws(ServingError) -> SignatureSpec {
        let key = name ?? SignatureSpec.defaultName
        guard let signature = servable.signatures[key] else {
            throw .invalidArgument("No signature was found with the name: \(key)")
        }
        guard signature.methodName == kind.methodName else {
            throw .invalidArgument(
                "Expected \(kind.apiName) signature method_name to be \(kind.methodName). Was: \(signature.methodName)")
        }
        guard signature.inputs.count == 1 else { throw .invalidArgument("Expected one input Tensor.") }
        guard let input = signature.inputs[inputKey] else {
            throw .invalidArgument("No \(kind.apiName) inputs found in signature '\(key)'; its input is '\(signature.inputs.keys.sorted().joined())'")
        }
        guard input.dtype == .string else {
            throw .invalidArgument("The \(kind.apiName) input '\(inputKey)' of signature '\(key)' is \(input.dtype.tensorFlowName), expected DT_STRING")
        }
        switch kind {
        case .classify:
            guard signature.outputs.count == 1 || signature.outputs.count == 2 else {
                throw .invalidArgument("Expected one or two output Tensors, found \(signature.outputs.count)")
            }
            guard signature.outputs[classesKey] != nil || signature.outputs[scoresKey] != nil else {
                throw .invalidArgument(
                    "Expected classification signature outputs to contain at least one of \"classes\" or \"scores\"; "
                        + "signature '\(key)' has \(signature.outputs.keys.sorted().joined(separator: ", "))")
            }
        case .regress:
            guard signature.outputs.count == 1 else {
                throw .invalidArgument("Expected one output Tensor.")
            }
            guard signature.outputs[regressionKey] != nil else {
                throw .invalidArgument(
                    "No regression outputs found in signature '\(key)'; its output is '\(signature.outputs.keys.sorted().joined())'")
            }
        }
        return signature
    }

    /// Runs `signature` on the serialized examples and turns its outputs into results.
    static func run(
        _ kind: Kind, signature: SignatureSpec, examples: [[UInt8]], on servable: any Servable, deadline: UInt64?,
        isCancelled: (@Sendable () -> Bool)?, completion: @escaping @Sendable (Result<Outcome, ServingError>) -> Void
    ) {
        guard !examples.isEmpty else {
            completion(.failure(.invalidArgument("Input is empty.")))
            return
        }
        servable.metrics.recordExamples(examples.count)
        execute(kind, signature: signature, input: Tensor(strings: examples, shape: [examples.count]), on: servable,
                api: kind.api, deadline: deadline, isCancelled: isCancelled, completion: completion)
    }

    /// One task of a MultiInference request: a signature already checked for its kind.
    struct Task: Sendable {
        var kind: Kind
        var signature: SignatureSpec
    }

    /// Runs every task's signature on the same examples (all at once, each on its own batch queue) and
    /// answers their outcomes in task order, or the first task's error that failed.
    static func runAll(
        _ tasks: [Task], examples: [[UInt8]], on servable: any Servable, deadline: UInt64?,
        isCancelled: (@Sendable () -> Bool)?, completion: @escaping @Sendable (Result<[Outcome], ServingError>) -> Void
    ) {
        guard !examples.isEmpty else {
            completion(.failure(.invalidArgument("Input is empty.")))
            return
        }
        servable.metrics.recordExamples(examples.count)
        let input = Tensor(strings: examples, shape: [examples.count])
        let collected = OutcomeCollector(count: tasks.count, completion: completion)
        for (index, task) in tasks.enumerated() {
            execute(task.kind, signature: task.signature, input: input, on: servable, api: .multiInference,
                    deadline: deadline, isCancelled: isCancelled) { result in
                collected.store(result, at: index)
            }
        }
    }

    private static func execute(
        _ kind: Kind, signature: SignatureSpec, input: Tensor, on servable: any Servable, api: InferenceAPI,
        deadline: UInt64?, isCancelled: (@Sendable () -> Bool)?,
        completion: @escaping @Sendable (Result<Outcome, ServingError>) -> Void
    ) {
        let count = input.shape[0]
        servable.predict(signature: signature.name, inputs: [inputKey: input], outputFilter: [], api: api,
                         deadline: deadline, isCancelled: isCancelled) { result in
            completion(result.flatMap { outputs in
                Result { () throws(ServingError) -> Outcome in
                    switch kind {
                    case .classify: try classifications(outputs, examples: count)
                    case .regress: try regressions(outputs, examples: count)
                    }
                }
            })
        }
    }

    private static func classifications(_ outputs: [String: Tensor], examples: Int) throws(ServingError) -> Outcome {
        let classes = outputs[classesKey], scores = outputs[scoresKey]
        guard classes != nil || scores != nil else {
            throw .internal("The model produced neither \"classes\" nor \"scores\"")
        }
        let classesWidth = try classes.map { tensor throws(ServingError) in
            try classWidth(tensor, classesKey, .string, examples: examples)
        }
        let scoresWidth = try scores.map { tensor throws(ServingError) in
            try classWidth(tensor, scoresKey, .float32, examples: examples)
        }
        if let classesWidth, let scoresWidth, classesWidth != scoresWidth {
            throw .invalidArgument("Tensors class and score should match in dim_size(1). Got \(classesWidth) vs. \(scoresWidth)")
        }
        let columns = classesWidth ?? scoresWidth ?? 0
        let labels = classes?.strings ?? []
        let values = scores?.scalars(as: Float.self) ?? []
        return .classifications((0..<examples).map { row in
            (0..<columns).map { column in
                let index = row * columns + column
                return Class(label: index < labels.count ? labels[index] : [], score: index < values.count ? values[index] : 0)
            }
        })
    }

    /// The number of classes of a [batch, classes] `classes` or `scores` output, checked as TF Serving does.
    private static func classWidth(_ tensor: Tensor, _ name: String, _ dtype: DType, examples: Int) throws(ServingError) -> Int {
        guard tensor.shape.rank == 2 else {
            throw .invalidArgument("Expected Tensor shape: [batch_size num_classes] but got \(tensor.shape)")
        }
        guard tensor.dtype == dtype else {
            throw .invalidArgument("Expected \(name) Tensor of \(dtype.tensorFlowName). Got: \(tensor.dtype.tensorFlowName)")
        }
        guard tensor.shape[0] == examples else {
            throw .invalidArgument("Expected \(name) output batch size of \(examples). Got: \(tensor.shape[0])")
        }
        return tensor.shape[1]
    }

    private static func regressions(_ outputs: [String: Tensor], examples: Int) throws(ServingError) -> Outcome {
        guard let values = outputs[regressionKey] else {
            throw .internal("The model did not produce \"\(regressionKey)\"")
        }
        guard values.dtype == .float32 else {
            throw .invalidArgument("Expected output Tensor of DT_FLOAT. Got: \(values.dtype.tensorFlowName)")
        }
        guard values.shape.rank == 1 || (values.shape.rank == 2 && values.shape[1] == 1) else {
            throw .invalidArgument("Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got \(values.shape)")
        }
        guard values.shape[0] == examples else {
            throw .invalidArgument("Input batch size did not match output batch size: \(examples) vs. \(values.shape[0])")
        }
        return .regressions(values.scalars(as: Float.self))
    }
}

/// Gathers the outcomes of a MultiInference request's tasks as they finish on their batch threads.
private final class OutcomeCollector: Sendable {
    private struct State {
        var outcomes: [ExampleInference.Outcome?]
        var failure: (index: Int, error: ServingError)?
        var remaining: Int
    }

    private let state: Mutex<State>
    private let completion: @Sendable (Result<[ExampleInference.Outcome], ServingError>) -> Void

    init(count: Int, completion: @escaping @Sendable (Result<[ExampleInference.Outcome], ServingError>) -> Void) {
        state = Mutex(State(outcomes: Array(repeating: nil, count: count), failure: nil, remaining: count))
        self.completion = completion
    }

    func store(_ result: Result<ExampleInference.Outcome, ServingError>, at index: Int) {
        let finished: Result<[ExampleInference.Outcome], ServingError>? = state.withLock { state in
            switch result {
            case .success(let outcome):
                state.outcomes[index] = outcome
            case .failure(let error):
                if state.failure.map({ index < $0.index }) ?? true { state.failure = (index, error) }
            }
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            if let failure = state.failure { return .failure(failure.error) }
            return .success(state.outcomes.compactMap { $0 })
        }
        if let finished { completion(finished) }
    }
}
