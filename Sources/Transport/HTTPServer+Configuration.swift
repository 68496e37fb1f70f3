import NIOCore

extension HTTPServer {
    /// Where and how an `HTTPServer` listens, and the limits it applies to every connection.
    public struct Configuration: Sendable {
        /// The address to bind, e.g. `0.0.0.0`, `::` or `127.0.0.1`.
        public var host: String
        /// The ports to bind; every port serves HTTP/1.1 and h2c, or HTTP/1.1 and h2 over TLS
        /// when `tls` is set. `0` binds an ephemeral port.
        public var ports: [Int]
        /// TLS for every port; `nil` serves plain text.
        public var tls: TLSSettings?
        /// Event loop threads when the server creates its own group; `nil` means one per core.
        public var eventLoopThreads: Int?
        /// Per-connection and per-request limits.
        public var limits: Limits
        /// A connection with no reads or writes for this long and no request in flight is closed;
        /// `nil` disables the timeout.
        public var idleTimeout: TimeAmount?
        /// Pending connections the kernel queues before `accept`.
        public var backlog: Int32

        public init(
            host: String = "0.0.0.0",
            ports: [Int] = [8500],
            eventLoopThreads: Int? = nil,
            limits: Limits = Limits(),
            idleTimeout: TimeAmount? = .seconds(300),
            backlog: Int32 = 1024,
            tls: TLSSettings? = nil
        ) {
            self.host = host
            self.ports = ports
            self.eventLoopThreads = eventLoopThreads
            self.limits = limits
            self.idleTimeout = idleTimeout
            self.backlog = backlog
            self.tls = tls
        }
    }

    /// Bounds on what one peer may make the server hold.
    public struct Limits: Sendable {
        /// Largest request body accepted; a bigger one is answered with 413 (gRPC: RESOURCE_EXHAUSTED)
        /// as soon as its announced length or its data passes the limit, before the rest is read.
        public var maxBodyBytes: Int
        /// How refusals name `maxBodyBytes`: the setting an operator would change.
        public var maxBodyBytesName: String
        /// The bytes all requests in flight may hold together; a body that would pass it is answered
        /// with 429 (gRPC: RESOURCE_EXHAUSTED) before it is buffered. `nil`: no bound.
        public var inflightBudget: (any InflightByteBudget)?
        /// How refusals name `inflightBudget`.
        public var inflightBudgetName: String
        /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` advertised and enforced per connection.
        public var maxConcurrentStreams: Int
        /// Largest request header list (name + value + 32 bytes per field, as in RFC 9113);
        /// a bigger one is answered with 431.
        public var maxHeaderListSize: Int
        /// HTTP/2 `SETTINGS_INITIAL_WINDOW_SIZE`: how much body a client may send per stream
        /// before the server acknowledges it.
        public var initialStreamWindowSize: Int
        /// HTTP/2 connection-level receive window.
        public var connectionWindowSize: Int
        /// Client `RST_STREAM` frames tolerated per connection within `resetWindow` before the
        /// connection is closed with GOAWAY `ENHANCE_YOUR_CALM` (rapid-reset protection).
        public var maxClientResetsPerWindow: Int
        /// The time window over which client resets are counted.
        public var resetWindow: TimeAmount

        public init(
            maxBodyBytes: Int = 64 << 20,
            maxBodyBytesName: String = "--max_request_body_bytes",
            inflightBudget: (any InflightByteBudget)? = nil,
            inflightBudgetName: String = "--max_inflight_request_bytes",
            maxConcurrentStreams: Int = 256,
            maxHeaderListSize: Int = 64 << 10,
            initialStreamWindowSize: Int = 1 << 20,
            connectionWindowSize: Int = 16 << 20,
            maxClientResetsPerWindow: Int = 1000,
            resetWindow: TimeAmount = .seconds(10)
        ) {
            self.maxBodyBytes = maxBodyBytes
            self.maxBodyBytesName = maxBodyBytesName
            self.inflightBudget = inflightBudget
            self.inflightBudgetName = inflightBudgetName
            self.maxConcurrentStreams = maxConcurrentStreams
            self.maxHeaderListSize = maxHeaderListSize
            self.initialStreamWindowSize = initialStreamWindowSize
            self.connectionWindowSize = connectionWindowSize
            self.maxClientResetsPerWindow = maxClientResetsPerWindow
            self.resetWindow = resetWindow
        }
    }
}
