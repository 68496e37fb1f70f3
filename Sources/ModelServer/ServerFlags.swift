import ArgumentParser
import Tensors

/// Command-line flags with TensorFlow Serving's names, spellings and defaults.
struct ServerFlags: ParsableArguments {
    @Option(name: .customLong("port"), help: "Port for gRPC and REST (TF Serving: gRPC port). 0 picks a free port.")
    var port: Int = 8500

    @Option(name: .customLong("rest_api_port"), help: "Second port for REST and gRPC; 0 = none.")
    var restAPIPort: Int = 0

    @Option(name: .customLong("host"), help: "Address to listen on.")
    var host: String = "0.0.0.0"

    @Option(name: .customLong("model_name"), help: "Name of the model served from --model_base_path.")
    var modelName: String = "default"

    @Option(name: .customLong("model_base_path"), help: "Directory holding the model's numbered version directories.")
    var modelBasePath: String?

    @Option(name: .customLong("model_config_file"),
            help: "A ModelServerConfig text proto listing the models to serve (instead of --model_name/--model_base_path).")
    var modelConfigFile: String?

    @Option(name: .customLong("model_base_path_root"),
            help: "When set, every model base path (from flags, config files and HandleReloadConfigRequest) must resolve, symlinks followed, under this directory.")
    var modelBasePathRoot: String?

    @Option(name: .customLong("enable_reload_config_request"),
            help: "Whether ModelService.HandleReloadConfigRequest may replace the served models (true|false).")
    var enableReloadConfigRequest: Bool = true

    @Option(name: .customLong("model_config_file_poll_wait_seconds"),
            help: "Seconds between re-reads of --model_config_file; 0 = read once.")
    var modelConfigFilePollWaitSeconds: Int = 0

    @Option(name: .customLong("batching_parameters_file"),
            help: "A BatchingParameters text proto; implies --enable_batching.")
    var batchingParametersFile: String?

    @Option(name: .customLong("file_system_poll_wait_seconds"),
            help: "Seconds between polls of the model directories for new versions; 0 = poll once at start.")
    var fileSystemPollWaitSeconds: Int = 1

    @Option(name: .customLong("saved_model_tags"), help: "Comma-separated tags of the MetaGraphDef to load.")
    var savedModelTags: String = "serve"

    @Option(name: .customLong("enable_batching"), help: "Merge concurrent requests into batches (true/false).")
    var enableBatching: Bool = false

    @Option(name: .customLong("enable_model_warmup"),
            help: "Replay assets.extra/tf_serving_warmup_requests before a version serves (true/false).")
    var enableModelWarmup: Bool = true

    @Option(name: .customLong("batching_latency_target_micros"),
            help: "Adaptive batching: cap each execution at the rows its measured cost fits into half of this many microseconds, so waiting plus computing stays under it; 0 = no cap beyond max_batch_size.")
    var batchingLatencyTargetMicros: Int = 0

    @Option(name: .customLong("num_batch_threads"), help: "Threads that run model computations; 0 = one per core.")
    var numBatchThreads: Int = 0

    @Option(name: .customLong("tensorflow_intra_op_parallelism"),
            help: "Threads one computation may use inside a kernel (GEMM, convolution); 0 = --tensorflow_session_parallelism, or 1.")
    var intraOpParallelism: Int = 0

    @Option(name: .customLong("tensorflow_session_parallelism"),
            help: "Used for --tensorflow_intra_op_parallelism when that is 0; 0 = 1.")
    var sessionParallelism: Int = 0

    @Option(name: .customLong("num_request_iterations_for_warmup"),
            help: "How many times each warmup request is replayed.")
    var warmupIterations: Int = 1

    @Option(name: .customLong("rest_api_timeout_in_ms"),
            help: "A REST inference request whose computation has not started after this many milliseconds fails with DEADLINE_EXCEEDED (504); 0 = no limit.")
    var restAPITimeoutInMs: Int = 30_000

    @Option(name: .customLong("rest_api_enable_cors_support"),
            help: "Answer CORS preflight requests and allow any origin on REST answers (true/false).")
    var restAPIEnableCORSSupport: Bool = false

    @Option(name: .customLong("event_loop_threads"), help: "Network threads; 0 = one per core.")
    var eventLoopThreads: Int = 0

    @Option(name: .customLong("max_num_load_retries"), help: "Extra attempts after a failed version load.")
    var maxNumLoadRetries: Int = 5

    @Option(name: .customLong("load_retry_interval_micros"), help: "Wait between load attempts, in microseconds.")
    var loadRetryIntervalMicros: Int = 60_000_000

    @Option(name: .customLong("log_format"), help: "How log lines are written to stderr: text or json (one object per line).")
    var logFormat: String = "text"

    @Option(name: .customLong("log_level"),
            help: "Least severe log level written: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("access_log"),
            help: "Log one line per answered request: method, path, protocol, status, bytes, duration, request id (true/false).")
    var accessLog: Bool = false

    @Option(name: .customLong("num_load_threads"), help: "Versions loaded at the same time; 0 = 1.")
    var numLoadThreads: Int = 2

    @Option(name: .customLong("version_settle_millis"),
            help: "Milliseconds nothing under a new version directory may change before it is loaded; 0 = load as soon as it is complete.")
    var versionSettleMillis: Int = 1000

    @Option(name: .customLong("version_ready_marker"),
            help: "A file name that must exist in a version directory before it is loaded (for uploads that write it last).")
    var versionReadyMarker: String?

    @Option(name: .customLong("watch_model_directories"),
            help: "Notice new and changed versions as they land (inotify) besides polling (true/false).")
    var watchModelDirectories: Bool = true

    @Option(name: .customLong("memory_budget_bytes"),
            help: "Bytes all loaded versions together may take (their files' size, measured at load); 0 = no limit.")
    var memoryBudgetBytes: Int64 = 0

    @Option(name: .customLong("memory_budget_overflow"),
            help: "When a new version would exceed --memory_budget_bytes beside the one it replaces: refuse (keep serving the old one) or unload_first.")
    var memoryBudgetOverflow: String = "refuse"

    @Option(name: .customLong("max_request_body_bytes"), help: "Largest request body accepted, in bytes.")
    var maxRequestBodyBytes: Int = 64 << 20

    @Option(name: .customLong("max_inflight_request_bytes"),
            help: "Bytes all requests in flight may hold together (bodies, decoded inputs, tensors their computations create); past it requests get RESOURCE_EXHAUSTED (429); 0 = no limit.")
    var maxInflightRequestBytes: Int = 2 << 30

    @Option(name: .customLong("max_tensor_elements"),
            help: "Most elements one request tensor, or one tensor a computation makes for a request (Fill, Tile, Range, ...), may have.")
    var maxTensorElements: Int = RequestMemory.defaultMaxTensorElements

    @Option(name: .customLong("max_tensor_bytes"),
            help: "Most bytes of values one request tensor, or one tensor a computation makes for a request, may hold.")
    var maxTensorBytes: Int = RequestMemory.defaultMaxTensorBytes

    @Option(name: .customLong("monitoring_config_file"),
            help: "A MonitoringConfig text proto; prometheus_config { enable: true } serves Prometheus metrics on every port at prometheus_config.path (default /monitoring/prometheus/metrics).")
    var monitoringConfigFile: String?

    @Option(name: .customLong("ssl_config_file"),
            help: "An SSLConfig text proto (server_key, server_cert, custom_ca as PEM text; client_verify); serves TLS on every port.")
    var sslConfigFile: String?

    @Option(name: .customLong("ssl_handshake_timeout_seconds"),
            help: "With --ssl_config_file, how long a client may take to complete the TLS handshake before it is disconnected.")
    var sslHandshakeTimeoutSeconds: Int = 10

    @Option(name: .customLong("ssl_config_file_poll_wait_seconds"),
            help: "Seconds between re-reads of --ssl_config_file; a changed certificate or key is used for new connections. 0 = only on SIGHUP.")
    var sslConfigFilePollWaitSeconds: Int = 30

    @Option(name: .customLong("shutdown_drain_seconds"),
            help: "On SIGTERM, how long in-flight requests may take to finish before connections close.")
    var shutdownDrainSeconds: Int = 30

    /// Flags TF Serving accepts without a value (`--enable_batching` = `--enable_batching=true`).
    static let booleanFlags: Set<String> = ["--enable_batching", "--enable_model_warmup", "--rest_api_enable_cors_support"]

    /// Rewrites bare boolean flags to the `=true` form the parser expects, and takes out TF Serving
    /// flags that have no meaning here (`CompatibilityFlags`), returned apart so they can be reported.
    static func normalize(_ arguments: [String]) -> (arguments: [String], ignored: [String]) {
        var kept: [String] = [], ignored: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if let name = CompatibilityFlags.name(of: argument) {
                ignored.append(argument)
                // `--flag value` form: the value goes too.
                if !argument.contains("="), !CompatibilityFlags.boolean.contains(name), index < arguments.endIndex {
                    ignored[ignored.count - 1] += " " + arguments[index]
                    index += 1
                }
                continue
            }
            kept.append(booleanFlags.contains(argument) ? argument + "=true" : argument)
        }
        return (kept, ignored)
    }
}
