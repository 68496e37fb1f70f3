/// Settings of the inference runtime.
public struct RuntimeOptions: Sendable {
    /// Threads one kernel call (a GEMM, a convolution) may use, the calling thread included.
    public var intraOpThreads: Int = 1
    /// Upper bound on the iterations of one loop in one request.
    public var maxLoopIterations: Int = 1_000_000

    public init(intraOpThreads: Int = 1, maxLoopIterations: Int = 1_000_000) {
        self.intraOpThreads = intraOpThreads
        self.maxLoopIterations = maxLoopIterations
    }
}
