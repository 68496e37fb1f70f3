/// TensorFlow Serving flags that have no meaning for this server (GPUs, TPUs, TFLite, XLA, its thread
/// pools and gRPC library, its platform configs). They are accepted, so existing command lines start the
/// server unchanged, and each one given is logged at startup as ignored.
enum CompatibilityFlags {
    /// Flags that take a value.
    static let valued: Set<String> = [
        "tensorflow_inter_op_parallelism", "rest_api_num_threads", "grpc_max_threads", "grpc_channel_arguments",
        "platform_config_file", "tensorflow_session_config_file", "per_process_gpu_memory_fraction",
        "num_unload_threads", "num_tflite_pools", "num_tflite_interpreters_per_pool",
        "thread_pool_factory_config_file", "mixed_precision",
    ]

    /// Flags that are true or false, and may be given bare.
    static let boolean: Set<String> = [
        "enable_signature_method_name_check", "allow_version_labels_for_unavailable_models",
        "force_allow_any_version_labels_for_unavailable_models", "flush_filesystem_caches",
        "remove_unused_fields_from_bundle_metagraph", "prefer_tflite_model", "use_tflite_model",
        "xla_cpu_compilation_enabled", "enable_profiler", "skip_initialize_tpu", "use_alts_credentials",
        "enable_per_model_batching_params", "enforce_session_run_timeout", "enable_grpc_healthcheck_service",
    ]

    /// TensorFlow Serving flags this server cannot honour, with the reason; giving one stops startup.
    static let unsupported: [String: String] = [
        "grpc_socket_path": "gRPC on a Unix socket is not supported; gRPC is served on --port (and --rest_api_port)",
    ]

    /// The flag name when `argument` is one of the ignored flags (`--name`, `--name=value`, `-name...`).
    static func name(of argument: String) -> String? {
        guard let name = flagName(argument) else { return nil }
        return valued.contains(name) || boolean.contains(name) ? name : nil
    }

    /// Why the server cannot start with `arguments`, when one of them is an unsupported flag.
    static func refusal(_ arguments: [String]) -> String? {
        for argument in arguments {
            if let name = flagName(argument), let reason = unsupported[name] { return "--\(name): \(reason)" }
        }
        return nil
    }

    private static func flagName(_ argument: String) -> String? {
        guard argument.hasPrefix("-") else { return nil }
        return String(argument.drop { $0 == "-" }.prefix { $0 != "=" })
    }
}
