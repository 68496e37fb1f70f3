import ServingMetrics
import Tensors
import Testing

/// What the server's metrics look like in the Prometheus text format, recorded through the same
/// families and handles the server uses, into a private registry.
@Suite struct ExpositionTests {
    @Test func requestCountsAreCountersByModelAndStatusAndOnlySuccessesAreTimed() {
        let registry = TestRegistry()
        let metrics = ModelMetrics(modelName: "mlp", factory: registry.factory)
        let started = MonotonicClock.nanoseconds()
        metrics.requestFinished(.predict, via: .rest, status: .ok, startedAt: started)
        metrics.requestFinished(.predict, via: .rest, status: .ok, startedAt: started)
        metrics.requestFinished(.predict, via: .rest, status: .invalidArgument, startedAt: started)
        metrics.requestFinished(.classify, via: .grpc, status: .notFound, startedAt: started)

        let text = registry.text
        #expect(text.contains("# TYPE :tensorflow:serving:request_count counter\n"))
        #expect(text.contains("# TYPE :tensorflow:serving:request_latency histogram\n"))
        let count = ":tensorflow:serving:request_count"
        #expect(registry.value(count, ["model_name": "mlp", "status": "OK"]) == 2)
        #expect(registry.value(count, ["model_name": "mlp", "status": "INVALID_ARGUMENT"]) == 1)
        #expect(registry.value(count, ["model_name": "mlp", "status": "NOT_FOUND"]) == 1)
        let latency = ["model_name": "mlp", "API": "Predict", "entrypoint": "REST"]
        #expect(registry.value(":tensorflow:serving:request_latency_count", latency) == 2)
        #expect(registry.value(":tensorflow:serving:request_latency_bucket", latency.merging(["le": "+Inf"]) { $1 }) == 2)
        #expect(!registry.samples.contains { $0.name.hasPrefix(":tensorflow:serving:request_latency") && $0.labels["API"] == "Classify" })
        for sample in registry.samples where sample.name == count {
            #expect(sample.labelOrder == ["model_name", "status"])
        }
    }

    @Test func histogramsHaveCumulativeBucketsSumAndCountInMicroseconds() {
        let registry = TestRegistry()
        let runtime = ModelMetrics(modelName: "m", factory: registry.factory).runtimeLatency(.regress)
        runtime.record(nanoseconds: 5_000)
        runtime.record(nanoseconds: 15_400)
        runtime.record(nanoseconds: 40_000_000)

        let name = ":tensorflow:serving:runtime_latency"
        let series = ["model_name": "m", "API": "Regress", "runtime": "model-server"]
        let buckets = registry.samples.filter { $0.name == name + "_bucket" && $0.labels["API"] == "Regress" }
        #expect(buckets.count == 34)
        #expect(buckets.allSatisfy { $0.labelOrder == ["model_name", "API", "runtime", "le"] })
        let counts = buckets.map(\.value)
        #expect(counts == counts.sorted(), "buckets are cumulative")
        func bucket(_ le: Double) -> Double? {
            buckets.first { Double($0.labels["le"] ?? "") == le }?.value
        }
        #expect(bucket(10) == 1)
        #expect(bucket(18) == 2)
        #expect(bucket(32.4) == 2)
        let bounds = buckets.compactMap { Double($0.labels["le"] ?? "") }
        let firstHoldingAll = bounds.first { $0 >= 40_000 }
        #expect(firstHoldingAll.map(bucket) == 3)
        #expect(bounds.last { $0 < 40_000 }.map(bucket) == 2)
        #expect(buckets.last?.labels["le"] == "+Inf")
        #expect(buckets.last?.value == 3)
        #expect(registry.value(name + "_sum", series) == Double(5 + 15 + 40_000))
        #expect(registry.value(name + "_count", series) == 3)
    }

    @Test func labelValuesAreEscaped() {
        let registry = TestRegistry()
        let awkward = "we\"ird\\model\nname"
        ModelMetrics(modelName: awkward, factory: registry.factory)
            .requestFinished(.modelInfer, via: .grpc, status: .unavailable, startedAt: MonotonicClock.nanoseconds())
        #expect(registry.text.contains(#":tensorflow:serving:request_count{model_name="we\"ird\\model\nname",status="UNAVAILABLE"} 1"#))
        #expect(registry.value(":tensorflow:serving:request_count", ["model_name": awkward]) == 1)
        #expect(!registry.text.split(separator: "\n").contains { $0.hasPrefix("name") })
    }

    @Test func examplesBatchesAndLoadsUseTensorFlowServingNamesAndLabels() {
        let registry = TestRegistry()
        let model = ModelMetrics(modelName: "wide", factory: registry.factory)
        model.recordExamples(3)
        model.recordExamples(4)
        #expect(registry.value(":tensorflow:serving:request_example_counts_count", ["model": "wide"]) == 2)
        #expect(registry.value(":tensorflow:serving:request_example_counts_bucket", ["model": "wide", "le": "2.0"]) == 0)
        #expect(registry.value(":tensorflow:serving:request_example_counts_bucket", ["model": "wide", "le": "4.0"]) == 2)
        #expect(registry.value(":tensorflow:serving:request_example_count_total", ["model": "wide"]) == 7)

        let batching = BatchingMetrics(threadPoolName: "batch", factory: registry.factory)
        batching.recordQueued(nanoseconds: 250_000)
        batching.recordInput(rows: 2)
        batching.recordInput(rows: 3)
        batching.recordBatch(rows: 5, paddedRows: 8)
        #expect(registry.value(":tensorflow:serving:batching_session:queuing_latency_sum", ["thread_pool_name": "batch"]) == 250)
        #expect(registry.value(":tensorflow:serving:batching_session:input_batch_size_count") == 2)
        #expect(registry.value(":tensorflow:serving:batching_session:input_batch_size_sum") == 5)
        #expect(registry.value(":tensorflow:serving:batching_session:processed_batch_size_bucket", ["le": "4.0"]) == 0)
        #expect(registry.value(":tensorflow:serving:batching_session:processed_batch_size_bucket", ["le": "8.0"]) == 1)
        #expect(registry.value(":tensorflow:serving:batching_session:padding_size_sum", ["execution_batch_size": "8"]) == 3)
        #expect(registry.value(":tensorflow:serving:batching_session:wrapped_run_count") == 1)
        #expect(registry.text.contains("\n:tensorflow:serving:batching_session:wrapped_run_count 1\n"))

        let loads = LoadMetrics(factory: registry.factory)
        loads.recordLoad(modelPath: "/models/wide/1", succeeded: false, nanoseconds: 1_000_000)
        loads.recordLoad(modelPath: "/models/wide/1", succeeded: true, nanoseconds: 2_500_000)
        loads.recordWarmup(modelPath: "/models/wide/1", status: .ok, nanoseconds: 700_000)
        let path = ["model_path": "/models/wide/1"]
        #expect(registry.value(":tensorflow:cc:saved_model:load_attempt_count", path.merging(["status": "success"]) { $1 }) == 1)
        #expect(registry.value(":tensorflow:cc:saved_model:load_attempt_count", path.merging(["status": "fail"]) { $1 }) == 1)
        #expect(registry.value(":tensorflow:cc:saved_model:load_latency", path) == 2500)
        #expect(registry.value(":tensorflow:serving:model_warmup_latency_sum", path.merging(["status": "OK"]) { $1 }) == 700)
    }

    @Test func unservedModelNamesAreBoundedButServedOnesNeverFold() {
        let served = ModelMetrics.served("metrics-test-served")
        #expect(ModelMetrics.requested("metrics-test-served") === served)
        var names: Set<String> = []
        for index in 0...(2 * ModelMetrics.unservedModelNameLimit) {
            names.insert(ModelMetrics.requested("metrics-test-unknown-\(index)").modelName)
        }
        #expect(names.contains(""))
        #expect(names.count <= ModelMetrics.unservedModelNameLimit + 1)
        #expect(ModelMetrics.served("metrics-test-served-late").modelName == "metrics-test-served-late")
        #expect(ModelMetrics.requested("metrics-test-served-late").modelName == "metrics-test-served-late")
    }
}
