#pragma once
#include <stddef.h>
#include <stdint.h>

/// Float32 GEMM with pre-packed weights and a fused bias/activation epilogue, for x86-64 CPUs with
/// AVX2 and FMA. Weights (B, k×n) are packed once into panels of 16 columns; the left operand is read
/// either from a dense row-major matrix or straight from an NHWC image as convolution patches, so a
/// convolution needs no separate im2col pass.

/// Column width of a packed weight panel.
#define PG_PANEL_WIDTH 16

/// Activations the epilogue applies after the bias.
enum pg_activation { PG_NONE = 0, PG_RELU = 1, PG_RELU6 = 2 };

/// 1 when this CPU can run the kernels below, 0 otherwise (callers then use another path).
int pg_supported(void);

/// Sets the threads one call of the kernels below (and of winograd_conv.h) may use, the calling thread
/// included; 1 (the default) keeps every call on its caller. Workers are started on first need and then
/// kept; a call made while another call is using them runs on its own thread alone. Results do not depend
/// on the thread count.
void pg_set_threads(int threads);

/// The thread count last set.
int pg_threads(void);

/// Runs task(context, chunk) for chunks 0 ..< chunks on the threads set by `pg_set_threads` (the caller
/// included) and returns when all have run. Chunks are claimed in any order, so none may depend on
/// another; kernels called from a task, and calls made while another call holds the workers, run on
/// their own thread alone.
void pg_parallel_for(int chunks, void (*task)(void *context, int chunk), void *context);

/// Pieces of work the pool's worker threads (not the callers) have run since the process started.
uint64_t pg_worker_chunks(void);

/// Floats needed to pack a k×n weight matrix.
size_t pg_packed_size(int k, int n);

/// Packs B into panels. Row-major k×n with row stride ldb when `transposed` is 0; row-major n×k
/// (that is, Bᵀ) with row stride ldb when it is 1.
void pg_pack_weights(const float *b, int k, int n, int ldb, int transposed, float *packed);

/// NHWC convolution geometry: output row r of the GEMM is output position r (batch, y, x) and its
/// k = kernel_h × kernel_w × channels values are the input window, zeros outside the image.
typedef struct {
    const float *image;
    int height, width, channels;
    int kernel_h, kernel_w;
    int out_h, out_w;
    int pad_top, pad_left;
    int stride_h, stride_w;
    int dilation_h, dilation_w;
} pg_conv_geometry;

/// c[m×n] (row stride n) = activation(a × B + bias + residual), a row-major m×k with row stride lda.
/// bias may be NULL or hold n values; residual may be NULL or hold m×n values laid out like c.
/// Returns 0, or -1 when working memory could not be allocated.
int pg_gemm_dense(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                  const float *residual, int activation, float *c);

/// c[m×n] (row stride n) = activation(patches × B + bias + residual) for a convolution; k must equal
/// kernel_h × kernel_w × channels and m the number of output positions. Returns 0, or -1 when working
/// memory could not be allocated.
int pg_gemm_conv(int m, int n, int k, const pg_conv_geometry *geometry, const float *packed,
                 const float *bias, const float *residual, int activation, float *c);
