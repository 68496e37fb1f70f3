/* How fast one core reads a buffer the size of the cnn benchmark model's 9216x128 Dense weights (4.7 MB,
   which stays in cache between calls), with and without software prefetch: the floor under that layer's
   batch-1 time. x86-64 with AVX2.

   gcc -O2 -o /tmp/read_bandwidth scripts/read_bandwidth.c && /tmp/read_bandwidth */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Sums n floats with eight independent accumulators, prefetching `ahead` floats in front when ahead > 0. */
__attribute__((target("avx2"))) static float sum(const float *values, size_t n, size_t ahead) {
    __m256 lanes[8];
    for (int i = 0; i < 8; i++) lanes[i] = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 64) {
        if (ahead) _mm_prefetch((const char *)(values + i + ahead), _MM_HINT_T0);
        for (int j = 0; j < 8; j++) lanes[j] = _mm256_add_ps(lanes[j], _mm256_load_ps(values + i + 8 * j));
    }
    for (int i = 1; i < 8; i++) lanes[0] = _mm256_add_ps(lanes[0], lanes[i]);
    float out[8];
    _mm256_storeu_ps(out, lanes[0]);
    return out[0];
}

int main(void) {
    const size_t n = 9216 * 128;
    float *values = aligned_alloc(64, n * sizeof(float));
    if (!values) return 1;
    for (size_t i = 0; i < n; i++) values[i] = 1;
    size_t distances[] = {0, 128, 512, 2048};
    for (size_t d = 0; d < sizeof distances / sizeof *distances; d++) {
        double best = 1e9;
        float total = 0;
        for (int run = 0; run < 200; run++) {
            double start = seconds();
            total += sum(values, n, distances[d]);
            double elapsed = seconds() - start;
            if (elapsed < best) best = elapsed;
        }
        printf("prefetch %4zu floats ahead: best %.1f us, %.1f GB/s (checksum %.0f)\n", distances[d], best * 1e6,
               n * sizeof(float) / best / 1e9, total);
    }
    free(values);
    return 0;
}
