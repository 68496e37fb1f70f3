import Synchronization

/// The process-wide bounds on what requests may make the server hold: the bytes of all requests in
/// flight (`--max_inflight_request_bytes`, `budget`) and the elements and bytes of any one tensor a
/// request brings or makes a model compute (`--max_tensor_elements`, `--max_tensor_bytes`).
///
/// Request bodies are charged by the transport, decoded inputs by the layer that queues them, and
/// every tensor buffer of 64 KiB or more created inside `charging` (a model run) is charged from its
/// creation until it is freed. Without configuration both bounds are off, apart from the default
/// element cap.
public enum RequestMemory {
    /// The bytes all requests in flight may hold together.
    public static let budget = MemoryBudget(limitBytes: .max)

    /// How refusals name `budget`'s limit.
    public static let budgetFlag = "--max_inflight_request_bytes"
    /// How refusals name `maxTensorElements`.
    public static let tensorElementsFlag = "--max_tensor_elements"

    /// How refusals name `maxTensorBytes`.
    public static let tensorBytesFlag = "--max_tensor_bytes"

    /// The default of `maxTensorElements`: 2^28.
    public static let defaultMaxTensorElements = 1 << 28
    /// The default of `maxTensorBytes`: 1 GiB, what the default element cap allows of float32.
    public static let defaultMaxTensorBytes = 1 << 30

    private static let tensorElements = Atomic<Int>(defaultMaxTensorElements)
    private static let tensorBytes = Atomic<Int>(defaultMaxTensorBytes)

    /// The most elements one request tensor, or one tensor a model computes for a request, may have.
    public static var maxTensorElements: Int {
        get { tensorElements.load(ordering: .relaxed) }
        set { tensorElements.store(newValue, ordering: .relaxed) }
    }

    /// The most bytes of elements one request tensor, or one tensor a model computes for a request,
    /// may hold (fixed-size dtypes).
    public static var maxTensorBytes: Int {
        get { tensorBytes.load(ordering: .relaxed) }
        set { tensorBytes.store(newValue, ordering: .relaxed) }
    }

    /// The charge of the model run on this thread, if any.
    @TaskLocal static var currentCharge: MemoryCharge?

    /// The charge of the model run on this thread; `nil` outside `charging`.
    public static var activeCharge: MemoryCharge? { currentCharge }

    /// Runs `body` with the tensor buffers it creates charged to `budget`. A buffer that does not fit
    /// is still created (a kernel cannot fail half-way through writing) but marks the charge
    /// exceeded; callers check `MemoryCharge.check()` between steps and stop the run.
    public static func charging<Result>(_ body: () throws(ServingError) -> Result) throws(ServingError) -> Result {
        if budget.limitBytes == .max { return try body() }
        let outcome: Swift.Result<Result, ServingError> = $currentCharge.withValue(MemoryCharge(budget: budget)) {
            do throws(ServingError) { return .success(try body()) } catch { return .failure(error) }
        }
        return try outcome.get()
    }

    /// Reserves `bytes` for decoded request tensors, or the RESOURCE_EXHAUSTED to answer instead.
    public static func reserveInputs(_ bytes: Int) throws(ServingError) {
        guard budget.reserve(bytes) else { throw exhausted(adding: bytes) }
    }

    static func exhausted(adding bytes: Int?) -> ServingError {
        let more = bytes.map { "; \($0) more would exceed" } ?? " and this request would exceed"
        return ServingError(.resourceExhausted, 
            "Requests in flight hold \(budget.bytesInUse) bytes\(more) the limit of \(budget.limitBytes) bytes "
                + "(\(budgetFlag)); retry later")
    }

    /// Refuses a shape whose known dimensions (negative ones are skipped) multiply past `limit`
    /// (`maxTensorElements` by default); `what` names the tensor in the error.
    public static func checkElementCount(
        _ dims: some Sequence<Int64>, limit: Int = maxTensorElements, what: @autoclosure () -> String
    ) throws(ServingError) {
        var elements = 1
        for size in dims where size >= 0 {
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(size))
            guard !overflow, product <= limit else {
                throw tooManyElements(overflow ? .max : product, limit: limit, what: what())
            }
            elements = product
        }
    }

    /// Refuses `count` elements of `elementBytes` each when they pass `maxTensorElements` or
    /// `maxTensorBytes`; returns the byte count. `what` names the tensor in the error.
    public static func checkTensorSize(
        elements count: Int, elementBytes: Int, what: @autoclosure () -> String
    ) throws(ServingError) -> Int {
        guard count <= maxTensorElements else { throw tooManyElements(count, what: what()) }
        return try checkByteCount(elements: count, elementBytes: elementBytes, what: what())
    }

    /// Refuses `count` elements of `elementBytes` each when they hold more than `maxTensorBytes`;
    /// returns the byte count. `what` names the tensor in the error.
    public static func checkByteCount(
        elements count: Int, elementBytes: Int, what: @autoclosure () -> String
    ) throws(ServingError) -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementBytes)
        guard !overflow, bytes <= maxTensorBytes else {
            throw tooManyBytes(overflow ? .max : bytes, what: what())
        }
        return bytes
    }

    /// The RESOURCE_EXHAUSTED for a tensor of `bytes` over `maxTensorBytes`.
    static func tooManyBytes(_ bytes: Int, what: String) -> ServingError {
        ServingError(.resourceExhausted,
                     "\(what) would hold \(bytes) bytes, more than the limit of \(maxTensorBytes) (\(tensorBytesFlag))")
    }

    /// The RESOURCE_EXHAUSTED for a tensor of `count` elements over `limit`; the flag is named when the
    /// limit is the flag's.
    public static func tooManyElements(_ count: Int, limit: Int = maxTensorElements, what: String) -> ServingError {
        let flag = limit == maxTensorElements ? " (\(tensorElementsFlag))" : ""
        return ServingError(.resourceExhausted, "\(what) would have \(count) elements, more than the limit of \(limit)\(flag)")
    }
}

/// The memory one model run has taken from `RequestMemory.budget` through its tensor buffers.
public final class MemoryCharge: Sendable {
    let budget: MemoryBudget
    private let exceeded = Atomic<Bool>(false)

    init(budget: MemoryBudget) {
        self.budget = budget
    }

    /// Charges a new buffer of `bytes`; false when it did not fit (the run is then over budget).
    func charge(_ bytes: Int) -> Bool {
        guard budget.reserve(bytes) else {
            exceeded.store(true, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Throws RESOURCE_EXHAUSTED once a buffer of the run did not fit.
    @inline(__always)
    public func check() throws(ServingError) {
        if exceeded.load(ordering: .relaxed) { throw RequestMemory.exhausted(adding: nil) }
    }
}
