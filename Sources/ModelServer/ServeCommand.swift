import API
import ArgumentParser
import Batching
import Foundation
import Lifecycle
import Logging
import NIOCore
import Runtime
import Synchronization
import Tensors
import Transport

/// `model-server serve` (the default): load models and answer requests until SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve SavedModels over REST and gRPC, HTTP/1.1 and HTTP/2 (the default command)."
    )

    @OptionGroup var flags: ServerFlags

    func validate() throws {
        switch (flags.modelBasePath, flags.modelConfigFile) {
        case (nil, nil):
            throw ValidationError(
                "either --model_base_path (one model) or --model_config_file (a ModelServerConfig text proto) is required")
        case (.some, .some):
            throw ValidationError("--model_base_path and --model_config_file cannot be used together")
        default:
            break
        }
        guard (0...65535).contains(flags.port), (0...65535).contains(flags.restAPIPort) else {
            throw ValidationError("--port and --rest_api_port must be between 0 and 65535")
        }
        guard ["text", "json"].contains(flags.logFormat) else {
            throw ValidationError("--log_format must be text or json, got '\(flags.logFormat)'")
        }
        guard Logger.Level(rawValue: flags.logLevel) != nil else {
            throw ValidationError(
                "--log_level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got '\(flags.logLevel)'")
        }
        guard flags.maxInflightRequestBytes >= 0 else {
            throw ValidationError("--max_inflight_request_bytes must be 0 (no limit) or a number of bytes")
        }
        guard flags.maxTensorElements > 0 else {
            throw ValidationError("--max_tensor_elements must be at least 1")
        }
        guard flags.batchingLatencyTargetMicros >= 0 else {
            throw ValidationError("--batching_latency_target_micros must be 0 (off) or a number of microseconds")
        }
        guard flags.maxTensorBytes > 0 else {
            throw ValidationError("--max_tensor_bytes must be at least 1")
        }
        guard flags.sslHandshakeTimeoutSeconds > 0 else {
            throw ValidationError("--ssl_handshake_timeout_seconds must be at least 1")
        }
        guard flags.sslConfigFilePollWaitSeconds >= 0 else {
            throw ValidationError("--ssl_config_file_poll_wait_seconds must be 0 (only on SIGHUP) or a number of seconds")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: flags.logLevel) ?? .info
        if flags.logFormat == "json" {
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "model-server")
        var routes: [APIRoute] = []
        if let path = flags.monitoringConfigFile, let metricsPath = try ConfigFiles.prometheusPath(path: path) {
            let registry = PrometheusExport.bootstrap()
            routes.append(MetricsRoute(path: metricsPath) { registry.emitToBuffer() }.route)
        }
        RequestMemory.maxTensorElements = flags.maxTensorElements
        RequestMemory.maxTensorBytes = flags.maxTensorBytes
        RequestMemory.budget.limitBytes = flags.maxInflightRequestBytes > 0 ? flags.maxInflightRequestBytes : .max
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var tls = try flags.sslConfigFile.map { path in try ConfigFiles.tlsSettings(path: path) }
        tls?.handshakeTimeout = .seconds(Int64(flags.sslHandshakeTimeoutSeconds))
        var batching = BatchingOptions(enabled: flags.enableBatching)
        var batchThreads = flags.numBatchThreads
        if let path = flags.batchingParametersFile {
            let parsed = try ConfigFiles.batchingOptions(path: path)
            batching = parsed.options
            if batchThreads == 0, let threads = parsed.threads { batchThreads = threads }
        }
        if flags.batchingLatencyTargetMicros > 0 {
            guard batching.enabled else {
                throw ValidationError("--batching_latency_target_micros needs batching: add --enable_batching or --batching_parameters_file")
            }
            batching.latencyTargetMicros = flags.batchingLatencyTargetMicros
            do {
                try batching.validate()
            } catch {
                throw ValidationError("--batching_latency_target_micros: \(error.description)")
            }
        }
        let scheduler = BatchScheduler(threadCount: batchThreads > 0 ? batchThreads : cores)

        let basePathRoot = try flags.modelBasePathRoot.map { path in try ModelBasePathRoot(path: path) }
        let models = try modelConfigurations(batching: batching, root: basePathRoot)
        let loader = SavedModelLoader(
            tags: Set(flags.savedModelTags.split(separator: ",").map(String.init)),
            runtimeOptions: RuntimeOptions(
                intraOpThreads: max(1, flags.intraOpParallelism > 0 ? flags.intraOpParallelism : flags.sessionParallelism)),
            warmup: flags.enableModelWarmup, warmupIterations: max(1, flags.warmupIterations), root: basePathRoot)
        guard let overBudget = LifecycleOptions.OverBudget(rawValue: flags.memoryBudgetOverflow) else {
            throw ValidationError(
                "--memory_budget_overflow must be one of \(LifecycleOptions.OverBudget.allCases.map(\.rawValue).joined(separator: ", ")), got '\(flags.memoryBudgetOverflow)'")
        }
        let manager = ModelManager(
            configurations: models, loader: loader, scheduler: scheduler,
            options: LifecycleOptions(
                pollInterval: flags.fileSystemPollWaitSeconds > 0 ? .seconds(flags.fileSystemPollWaitSeconds) : nil,
                watchesFileSystem: flags.watchModelDirectories,
                candidates: CandidateRules(settle: .milliseconds(max(0, flags.versionSettleMillis)),
                                           readyMarker: flags.versionReadyMarker),
                maxLoadRetries: flags.maxNumLoadRetries,
                loadRetryInterval: .microseconds(flags.loadRetryIntervalMicros),
                loadThreads: flags.numLoadThreads,
                memoryBudgetBytes: flags.memoryBudgetBytes,
                overBudget: overBudget),
            logger: logger)

        let router = APIRouter(
            backend: LifecycleBackend(
                manager: manager, batching: batching, basePathRoot: basePathRoot,
                acceptsReloadRequests: flags.enableReloadConfigRequest),
            options: APIRouter.Options(
                maxJSONBodyBytes: flags.maxRequestBodyBytes,
                restTimeout: flags.restAPITimeoutInMs > 0 ? .milliseconds(flags.restAPITimeoutInMs) : nil,
                allowsCrossOrigin: flags.restAPIEnableCORSSupport,
                accessLog: flags.accessLog ? Logger(label: "model-server.access") : nil),
            routes: routes)
        var ports = [flags.port]
        if flags.restAPIPort != 0 { ports.append(flags.restAPIPort) }
        let server = HTTPServer(
            configuration: HTTPServer.Configuration(
                host: flags.host, ports: ports,
                eventLoopThreads: flags.eventLoopThreads > 0 ? flags.eventLoopThreads : nil,
                limits: HTTPServer.Limits(
                    maxBodyBytes: flags.maxRequestBodyBytes,
                    inflightBudget: flags.maxInflightRequestBytes > 0 ? RequestBodyBudget(RequestMemory.budget) : nil),
                tls: tls),
            handler: router, logger: logger)

        let bound = try await server.start()
        for port in bound {
            print("model-server listening on \(flags.host):\(port) (REST and gRPC; \(tls == nil ? "HTTP/1.1 and h2c" : "h2 and HTTP/1.1 over TLS"))")
        }
        fflush(nil)
        manager.start()
        let tlsReloader = flags.sslConfigFile.map { path in
            TLSConfigReloader(
                path: path, handshakeTimeout: .seconds(Int64(flags.sslHandshakeTimeoutSeconds)), server: server, logger: logger)
        }
        let tlsPoller = flags.sslConfigFilePollWaitSeconds > 0
            ? tlsReloader?.poll(every: .seconds(flags.sslConfigFilePollWaitSeconds)) : nil
        let configReloading = startConfigReloading(
            manager: manager, batching: batching, root: basePathRoot, initial: models, logger: logger,
            onHangup: { tlsReloader?.reloadIfChanged() })

        let signal = await TerminationSignal.wait()
        configReloading.poller?.cancel()
        configReloading.hangup.cancel()
        tlsPoller?.cancel()
        logger.info("Received signal \(signal); draining in-flight requests")
        await server.shutdown(drainTimeout: .seconds(Int64(flags.shutdownDrainSeconds)))
        manager.stop()
        scheduler.shutdown()
        logger.info("Stopped")
    }
}

extension ServeCommand {
    func modelConfigurations(batching: BatchingOptions, root: ModelBasePathRoot?) throws -> [ModelConfiguration] {
        let configurations: [ModelConfiguration]
        if let path = flags.modelConfigFile {
            configurations = try ConfigFiles.modelConfigurations(path: path, batching: batching)
        } else {
            let basePath = URL(fileURLWithPath: flags.modelBasePath ?? ".").standardizedFileURL.path
            configurations = [ModelConfiguration(name: flags.modelName, basePath: basePath, batching: batching)]
        }
        try root?.confine(configurations)
        return configurations
    }

    /// Re-reads `--model_config_file` every `--model_config_file_poll_wait_seconds` and applies it when
    /// it changed since it was last read (so a gRPC reload stays until the file changes), and at once on
    /// SIGHUP; a file that fails to parse is logged and the running configuration stays.
    func startConfigReloading(
        manager: ModelManager, batching: BatchingOptions, root: ModelBasePathRoot?, initial: [ModelConfiguration],
        logger: Logger, onHangup: @escaping @Sendable () -> Void
    ) -> (poller: Task<Void, Never>?, hangup: any DispatchSourceSignal) {
        let path = flags.modelConfigFile
        let lastRead = Mutex(initial)
        let apply: @Sendable (_ always: Bool) -> Void = { always in
            guard let path else {
                logger.info("Received SIGHUP; there is no --model_config_file to re-read")
                return
            }
            do {
                let configurations = try ConfigFiles.modelConfigurations(path: path, batching: batching)
                try root?.confine(configurations)
                let changed = lastRead.withLock { last in
                    defer { last = configurations }
                    return last != configurations
                }
                if changed || always {
                    logger.info("Applying model config file \(path): \(configurations.count) model(s)")
                    manager.reconfigure(configurations)
                }
            } catch {
                logger.error("Keeping the current models: \(error)")
            }
        }
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler {
            onHangup()
            apply(true)
        }
        hangup.resume()
        guard path != nil, flags.modelConfigFilePollWaitSeconds > 0 else { return (nil, hangup) }
        let interval = flags.modelConfigFilePollWaitSeconds
        let poller = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                guard !Task.isCancelled else { return }
                apply(false)
            }
        }
        return (poller, hangup)
    }
}

/// The `model-server` command line.
struct ModelServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-server",
        abstract: "A TensorFlow Serving compatible model server without TensorFlow.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, InspectCommand.self, BenchCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
