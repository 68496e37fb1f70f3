#pragma once
/* Pieces the kernels of this target share; not part of the module's public headers. */

#include <stdlib.h>
#include <string.h>

#include "packed_gemm.h"

/* Thread-local working memory, grown on demand, kept for the thread's next call and freed when the thread exits. */
typedef struct {
    void *data;
    size_t capacity;
} work_buffer;

/* Makes the calling thread free `buffer`'s memory when it exits (work_buffer.c). */
void work_buffer_register(work_buffer *buffer);

/* At least `bytes` bytes, 64-byte aligned; with `zeroed`, memory it allocates starts as zeros (callers
   that only read it keep it so). NULL when memory could not be allocated. */
static inline void *reserve(work_buffer *buffer, size_t bytes, int zeroed) {
    if (buffer->capacity < bytes) {
        size_t rounded = (bytes + 63) / 64 * 64;
        void *grown = aligned_alloc(64, rounded);
        if (!grown) return NULL;
        if (!buffer->data) work_buffer_register(buffer);
        free(buffer->data);
        buffer->data = grown;
        buffer->capacity = rounded;
        if (zeroed) memset(grown, 0, rounded);
    }
    return buffer->data;
}

/* A float32 product c = activation(a × packed + bias + residual) as pg_gemm_dense takes it. */
typedef struct {
    int m, n, k;
    const float *a;
    int lda;
    const float *packed, *bias, *residual;
    int activation;
    float *c;
} dense_product;

/* The same for pg_gemm_conv: row r of a is output position r's window. */
typedef struct {
    int m, n, k;
    const pg_conv_geometry *g;
    const float *packed, *bias, *residual;
    int activation;
    float *c;
} conv_product;

/* Runs a dense product on the calling thread only (for callers that split work themselves). Returns 0, or
   -1 where the kernels are not available. */
int dense_product_run(const dense_product *p);

#if defined(__x86_64__)
#include <immintrin.h>

/* value + bias + residual (each optional, eight lanes), then the epilogue activation. */
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 finish_vector(__m256 value, const float *bias, const float *residual, const int activation) {
    if (bias) value = _mm256_add_ps(value, _mm256_loadu_ps(bias));
    if (residual) value = _mm256_add_ps(value, _mm256_loadu_ps(residual));
    if (activation == PG_RELU) {
        value = _mm256_max_ps(_mm256_setzero_ps(), value);
    } else if (activation == PG_RELU6) {
        value = _mm256_min_ps(_mm256_set1_ps(6), _mm256_max_ps(_mm256_setzero_ps(), value));
    }
    return value;
}
#endif
