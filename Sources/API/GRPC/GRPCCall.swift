import Dispatch
import NIOCore
import ServingMetrics
import Synchronization
import SwiftProtobuf
import Tensors
import Transport

/// One unary gRPC call in flight: answers exactly once, with the response message, an error, or
/// DEADLINE_EXCEEDED when the client's `grpc-timeout` passes first. An inference call is counted
/// and timed when it is answered, however that happens.
final class GRPCCall: Sendable {
    let head: GRPCRequestHead
    private let writer: any ResponseWriter
    private let answered = Atomic<Bool>(false)
    /// When the call times out; nil without `grpc-timeout`.
    let deadline: NIODeadline?
    private let startedAt = MonotonicClock.nanoseconds()
    private let inference = Mutex<Inference?>(nil)

    /// What an inference call is counted as.
    private struct Inference {
        var meter: InferenceMeter
        var modelName: String
        /// Set once a version of the model is in hand.
        var metrics: ModelMetrics?
    }

    init(head: GRPCRequestHead, writer: any ResponseWriter) {
        self.head = head
        self.writer = writer
        self.deadline = head.timeout.map { NIODeadline.now() + $0 }
    }

    /// Counts the call as an `api` request for `modelName` when it is answered, timed from its start.
    func meter(_ api: InferenceAPI, modelName: String) {
        let meter = InferenceMeter(api, via: .grpc, startedAt: startedAt)
        inference.withLock { $0 = Inference(meter: meter, modelName: modelName) }
    }

    /// The call reached a version of its model, whose metrics it is counted under.
    func meter(_ metrics: ModelMetrics) {
        inference.withLock { $0?.metrics = metrics }
    }

    /// Whether the call is over: answered, or its client went away (which answers it CANCELLED).
    var isFinished: Bool {
        guard !answered.load(ordering: .relaxed) else { return true }
        guard writer.isCancelled else { return false }
        fail(GRPCStatus(.cancelled, "The client cancelled the call"))
        return true
    }

    /// Whether the client reset the call's stream or closed its connection; asks without answering.
    var clientWentAway: Bool { writer.isCancelled }

    /// The deadline on the `DispatchTime` uptime scale the batch queues use.
    var deadlineNanoseconds: UInt64? {
        guard let deadline else { return nil }
        let remaining = max(0, (deadline - NIODeadline.now()).nanoseconds)
        return DispatchTime.now().uptimeNanoseconds &+ UInt64(remaining)
    }

    /// Whether the deadline has passed.
    var isPastDeadline: Bool {
        guard let deadline else { return false }
        return NIODeadline.now() >= deadline
    }

    /// Answers DEADLINE_EXCEEDED when the deadline passes before another answer; a timer that
    /// fires after the answer finds the call answered and does nothing.
    func armDeadline() {
        guard let deadline, !isFinished else { return }
        let remaining = deadline - NIODeadline.now()
        let nanoseconds = max(0, Int(remaining.nanoseconds))
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in
            self?.fail(GRPCStatus(.deadlineExceeded, "Deadline exceeded before the model produced a result"))
        }
    }

    /// Sends `message` as the call's response.
    func succeed(_ message: some SwiftProtobuf.Message) {
        guard !isFinished else { return }
        let bytes: [UInt8]
        do {
            bytes = try message.serializedBytes()
        } catch {
            fail(GRPCStatus(.internal, "Could not serialize the response: \(error)"))
            return
        }
        succeed(serialized: bytes)
    }

    /// Sends an already serialized response message.
    func succeed(serialized bytes: [UInt8]) {
        guard !isFinished else { return }
        if isPastDeadline {
            fail(GRPCStatus(.deadlineExceeded, "Deadline exceeded before the response was ready"))
            return
        }
        finish(GRPCResponse.message(bytes, encoding: head.responseEncoding(size: bytes.count)), status: .ok)
    }

    func fail(_ error: ServingError) {
        fail(GRPCStatus(error))
    }

    func fail(_ status: GRPCStatus) {
        finish(GRPCResponse.trailersOnly(status), status: StatusCode(rawValue: status.code.rawValue) ?? .unknown)
    }

    private func finish(_ response: ServerResponse, status: StatusCode) {
        guard answered.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let cancelled = writer.isCancelled
        if let inference = inference.withLock({ $0 }) {
            let outcome = cancelled ? .cancelled : status
            if let metrics = inference.metrics {
                inference.meter.finish(outcome, metrics: metrics)
            } else {
                inference.meter.finish(outcome, modelNamed: inference.modelName)
            }
        }
        guard !cancelled else { return }
        writer.respond(response)
    }
}
