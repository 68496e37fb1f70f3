#include "packed_gemm.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_support.h"

enum { MR = 6, NR = PG_PANEL_WIDTH };

size_t pg_packed_size(int k, int n) {
    if (k <= 0 || n <= 0) return 0;
    return (size_t)((n + NR - 1) / NR) * NR * (size_t)k;
}

void pg_pack_weights(const float *b, int k, int n, int ldb, int transposed, float *packed) {
    int panels = (n + NR - 1) / NR;
    for (int j = 0; j < panels; j++) {
        float *panel = packed + (size_t)j * NR * k;
        for (int p = 0; p < k; p++) {
            for (int q = 0; q < NR; q++) {
                int column = j * NR + q;
                float value = 0;
                if (column < n) value = transposed ? b[(size_t)column * ldb + p] : b[(size_t)p * ldb + column];
                panel[(size_t)p * NR + q] = value;
            }
        }
    }
}

/* Writes patch values k0 ..< k0+count of output position `row` into `out`. */
static void patch_values(const pg_conv_geometry *g, int row, int k0, int count, float *out) {
    int per_image = g->out_h * g->out_w;
    int batch = row / per_image, position = row - batch * per_image;
    int oy = position / g->out_w, ox = position - oy * g->out_w;
    int c = g->channels, span = g->kernel_w * c;
    const float *image = g->image + (size_t)batch * g->height * g->width * c;
    int y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
    int p = k0, end = k0 + count;
    while (p < end) {
        int ky = p / span, offset = p - ky * span, kx = offset / c, ch = offset - kx * c;
        int iy = y0 + ky * g->dilation_h;
        int ix = x0 + kx * g->dilation_w;
        int length;
        int inside;
        if (iy < 0 || iy >= g->height) {
            length = span - offset;
            inside = 0;
        } else if (g->dilation_w == 1) {
            int remaining = g->kernel_w - kx;
            if (ix < 0) {
                int outside = -ix < remaining ? -ix : remaining;
                length = outside * c - ch;
                inside = 0;
            } else if (ix >= g->width) {
                length = span - offset;
                inside = 0;
            } else {
                int valid = g->width - ix < remaining ? g->width - ix : remaining;
                length = valid * c - ch;
                inside = 1;
            }
        } else {
            length = c - ch;
            inside = ix >= 0 && ix < g->width;
        }
        if (length > end - p) length = end - p;
        float *target = out + (p - k0);
        if (inside) {
            memcpy(target, image + ((size_t)iy * g->width + ix) * c + ch, (size_t)length * sizeof(float));
        } else {
            memset(target, 0, (size_t)length * sizeof(float));
        }
        p += length;
    }
}

static inline float finish_scalar(float value, const float *bias, int column, int activation) {
    if (bias) value += bias[column];
    if (activation == PG_RELU) {
        value = value < 0 ? 0 : value;
    } else if (activation == PG_RELU6) {
        value = value < 0 ? 0 : value;
        value = value > 6 ? 6 : value;
    }
    return value;
}

/* Stores a row tile through the scalar path (partial tiles). */
static void store_partial(float tile[MR][NR], float *c, int ldc, int rows, int cols, const float *bias,
                          const float *residual, int activation) {
    for (int i = 0; i < rows; i++) {
        for (int q = 0; q < cols; q++) {
            float value = tile[i][q];
            if (bias) value += bias[q];
            if (residual) value += residual[(size_t)i * ldc + q];
            c[(size_t)i * ldc + q] = finish_scalar(value, NULL, q, activation);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

int pg_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define PG_STORE_ROW(i, low, high)                                                                \
    do {                                                                                          \
        float *row = c + (size_t)(i) * ldc;                                                       \
        const float *added = residual ? residual + (size_t)(i) * ldc : NULL;                      \
        _mm256_storeu_ps(row, finish_vector(low, bias, added, activation));                       \
        _mm256_storeu_ps(row + 8, finish_vector(high, bias ? bias + 8 : NULL,                     \
                                                added ? added + 8 : NULL, activation));           \
    } while (0)

/* c[rows×cols] = activation(a × b-panel + bias + residual) with ROWS accumulator rows (a compile-time
   constant at each use, so the loops unroll and the accumulators stay in registers). Row i of a is
   `segments` runs of `length` contiguous values starting at rows_of_a[s*MR + i]; b holds
   segments × length rows of NR values. Rows past `rows` are computed from whatever a holds there and
   not stored. */
__attribute__((target("avx2,fma"), always_inline))
static inline void kernel_rows(const int ROWS, int segments, int length, const float *const *rows_of_a, const float *b,
                               float *c, int ldc, int rows, int cols, const float *bias, const float *residual,
                               int activation) {
    __m256 low[MR], high[MR];
    for (int i = 0; i < ROWS; i++) low[i] = high[i] = _mm256_setzero_ps();
    for (int s = 0; s < segments; s++) {
        const float *a[MR];
        for (int i = 0; i < ROWS; i++) a[i] = rows_of_a[s * MR + i];
        for (int q = 0; q < length; q++) {
            __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
            for (int i = 0; i < ROWS; i++) {
                __m256 value = _mm256_broadcast_ss(a[i] + q);
                low[i] = _mm256_fmadd_ps(value, b0, low[i]);
                high[i] = _mm256_fmadd_ps(value, b1, high[i]);
            }
            b += NR;
        }
    }
    if (rows == ROWS && cols == NR) {
        for (int i = 0; i < ROWS; i++) PG_STORE_ROW(i, low[i], high[i]);
        return;
    }
    float tile[MR][NR] __attribute__((aligned(32)));
    for (int i = 0; i < ROWS; i++) {
        _mm256_store_ps(tile[i], low[i]);
        _mm256_store_ps(tile[i] + 8, high[i]);
    }
    store_partial(tile, c, ldc, rows, cols, bias, residual, activation);
}

/* Five or six rows. */
__attribute__((target("avx2,fma")))
static void kernel_6x16(int segments, int length, const float *const *rows_of_a, const float *b, float *c, int ldc,
                        int rows, int cols, const float *bias, const float *residual, int activation) {
    kernel_rows(MR, segments, length, rows_of_a, b, c, ldc, rows, cols, bias, residual, activation);
}

/* Two to four rows, so short panels (small batches, the last rows of a batch) do not pay for six. */
__attribute__((target("avx2,fma")))
static void kernel_4x16(int segments, int length, const float *const *rows_of_a, const float *b, float *c, int ldc,
                        int rows, int cols, const float *bias, const float *residual, int activation) {
    kernel_rows(4, segments, length, rows_of_a, b, c, ldc, rows, cols, bias, residual, activation);
}

/* One row: a streamed matrix-vector product with independent accumulators. */
__attribute__((target("avx2,fma")))
static void kernel_1x16(int segments, int length, const float *const *rows_of_a, const float *b, float *c, int ldc,
                        int cols, const float *bias, const float *residual, int activation) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps();
    __m256 u0 = _mm256_setzero_ps(), u1 = _mm256_setzero_ps();
    __m256 v0 = _mm256_setzero_ps(), v1 = _mm256_setzero_ps();
    for (int s = 0; s < segments; s++) {
        const float *a = rows_of_a[s * MR];
        int q = 0;
        for (; q + 4 <= length; q += 4) {
            __m256 a0 = _mm256_broadcast_ss(a + q), a1 = _mm256_broadcast_ss(a + q + 1);
            __m256 a2 = _mm256_broadcast_ss(a + q + 2), a3 = _mm256_broadcast_ss(a + q + 3);
            s0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b), s0);
            s1 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + 8), s1);
            t0 = _mm256_fmadd_ps(a1, _mm256_loadu_ps(b + NR), t0);
            t1 = _mm256_fmadd_ps(a1, _mm256_loadu_ps(b + NR + 8), t1);
            u0 = _mm256_fmadd_ps(a2, _mm256_loadu_ps(b + 2 * NR), u0);
            u1 = _mm256_fmadd_ps(a2, _mm256_loadu_ps(b + 2 * NR + 8), u1);
            v0 = _mm256_fmadd_ps(a3, _mm256_loadu_ps(b + 3 * NR), v0);
            v1 = _mm256_fmadd_ps(a3, _mm256_loadu_ps(b + 3 * NR + 8), v1);
            b += 4 * NR;
        }
        for (; q < length; q++) {
            __m256 a0 = _mm256_broadcast_ss(a + q);
            s0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b), s0);
            s1 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + 8), s1);
            b += NR;
        }
    }
    __m256 low = _mm256_add_ps(_mm256_add_ps(s0, t0), _mm256_add_ps(u0, v0));
    __m256 high = _mm256_add_ps(_mm256_add_ps(s1, t1), _mm256_add_ps(u1, v1));
    if (cols == NR) {
        PG_STORE_ROW(0, low, high);
        return;
    }
    float tile[MR][NR] __attribute__((aligned(32)));
    _mm256_store_ps(tile[0], low);
    _mm256_store_ps(tile[0] + 8, high);
    store_partial(tile, c, ldc, 1, cols, bias, residual, activation);
}

/* Runs the kernels over column panels first_panel ..< end_panel for MR rows whose runs of a are given by
   `rows_of_a`. */
static void multiply_rows(int segments, int length, const float *const *rows_of_a, int rows, int n, int k,
                          const float *packed, const float *bias, const float *residual, int activation, float *c,
                          int first_panel, int end_panel) {
    for (int j = first_panel; j < end_panel; j++) {
        const float *panel = packed + (size_t)j * NR * k;
        int cols = n - j * NR < NR ? n - j * NR : NR;
        const float *panel_bias = bias ? bias + j * NR : NULL;
        const float *panel_residual = residual ? residual + j * NR : NULL;
        if (rows == 1) {
            kernel_1x16(segments, length, rows_of_a, panel, c + j * NR, n, cols, panel_bias, panel_residual, activation);
        } else if (rows <= 4) {
            kernel_4x16(segments, length, rows_of_a, panel, c + j * NR, n, rows, cols, panel_bias, panel_residual, activation);
        } else {
            kernel_6x16(segments, length, rows_of_a, panel, c + j * NR, n, rows, cols, panel_bias, panel_residual, activation);
        }
    }
}

/* Rows first_row ..< end_row (first_row a multiple of MR) and panels first_panel ..< end_panel of a dense
   product. */
static void dense_part(const dense_product *p, int first_row, int end_row, int first_panel, int end_panel) {
    const float *rows_of_a[MR];
    for (int first = first_row; first < end_row; first += MR) {
        int rows = end_row - first < MR ? end_row - first : MR;
        for (int i = 0; i < MR; i++) rows_of_a[i] = p->a + (size_t)(first + (i < rows ? i : 0)) * p->lda;
        multiply_rows(1, p->k, rows_of_a, rows, p->n, p->k, p->packed, p->bias,
                      p->residual ? p->residual + (size_t)first * p->n : NULL, p->activation, p->c + (size_t)first * p->n,
                      first_panel, end_panel);
    }
}

int dense_product_run(const dense_product *p) {
    dense_part(p, 0, p->m, 0, (p->n + NR - 1) / NR);
    return 0;
}

static _Thread_local work_buffer zeros_buffer;
static _Thread_local work_buffer copies_buffer;
static _Thread_local work_buffer pointers_buffer;

/* Output rows first_row ..< end_row (first_row a multiple of MR) of a convolution. */
static int conv_part(const conv_product *p, int first_row, int end_row) {
    const pg_conv_geometry *g = p->g;
    int n = p->n, k = p->k;
    const float *packed = p->packed, *bias = p->bias, *residual = p->residual;
    int activation = p->activation;
    float *c = p->c;
    int c_in = g->channels, span = g->kernel_w * c_in;
    const float *zeros = reserve(&zeros_buffer, (size_t)span * sizeof(float), 1);
    float *copies = reserve(&copies_buffer, (size_t)MR * k * sizeof(float), 0);
    const float **rows_of_a = reserve(&pointers_buffer, (size_t)MR * g->kernel_h * sizeof(const float *), 0);
    if (!zeros || !copies || !rows_of_a) return -1;
    size_t image_size = (size_t)g->height * g->width * c_in;
    size_t row_step = (size_t)g->dilation_h * g->width * c_in;
    /* Output coordinates of row `first`, advanced without dividing as `first` moves on. */
    int per_image = g->out_h * g->out_w;
    int first_batch = first_row / per_image, first_oy = (first_row - first_batch * per_image) / g->out_w;
    int first_ox = first_row - first_batch * per_image - first_oy * g->out_w;
    for (int first = first_row; first < end_row; first += MR) {
        int rows = end_row - first < MR ? end_row - first : MR;
        int batch = first_batch, oy = first_oy, ox = first_ox;
        for (int i = 0; i < MR; i++) {
            if (i == rows) {
                /* Rows past m repeat the first row; their results are never stored. */
                batch = first_batch;
                oy = first_oy;
                ox = first_ox;
            } else if (i > 0 && i < rows) {
                if (++ox == g->out_w) {
                    ox = 0;
                    if (++oy == g->out_h) {
                        oy = 0;
                        batch++;
                    }
                }
            }
            int row = i < rows ? first + i : first;
            const float *image = g->image + (size_t)batch * image_size;
            int x0 = ox * g->stride_w - g->pad_left;
            int inside_x = g->dilation_w == 1 && x0 >= 0 && x0 + g->kernel_w <= g->width;
            int y0 = oy * g->stride_h - g->pad_top;
            if (inside_x && y0 >= 0 && y0 + (g->kernel_h - 1) * g->dilation_h < g->height) {
                const float *run = image + ((size_t)y0 * g->width + x0) * c_in;
                for (int ky = 0; ky < g->kernel_h; ky++, run += row_step) rows_of_a[ky * MR + i] = run;
                continue;
            }
            for (int ky = 0; ky < g->kernel_h; ky++) {
                int iy = oy * g->stride_h + ky * g->dilation_h - g->pad_top;
                const float *run;
                if (iy < 0 || iy >= g->height) {
                    run = zeros;
                } else if (inside_x) {
                    run = image + ((size_t)iy * g->width + x0) * c_in;
                } else {
                    float *copy = copies + (size_t)i * k + (size_t)ky * span;
                    patch_values(g, row, ky * span, span, copy);
                    run = copy;
                }
                rows_of_a[ky * MR + i] = run;
            }
        }
        multiply_rows(g->kernel_h, span, rows_of_a, rows, n, k, packed, bias,
                      residual ? residual + (size_t)first * n : NULL, activation, c + (size_t)first * n,
                      0, (n + NR - 1) / NR);
        first_ox += MR;
        while (first_ox >= g->out_w) {
            first_ox -= g->out_w;
            if (++first_oy == g->out_h) {
                first_oy = 0;
                first_batch++;
            }
        }
    }
    return 0;
}

/* A call split into `chunks` pieces of `units` row blocks (or column panels) between the pool's threads. */
typedef struct {
    const dense_product *dense;
    const conv_product *conv;
    int units, chunks, by_rows;
    atomic_int failed;
} split_call;

static void split_range(const split_call *s, int chunk, int *first, int *end) {
    *first = (int)((long long)chunk * s->units / s->chunks);
    *end = (int)((long long)(chunk + 1) * s->units / s->chunks);
}

static void dense_chunk(void *context, int chunk) {
    split_call *s = context;
    const dense_product *p = s->dense;
    int first, end;
    split_range(s, chunk, &first, &end);
    if (s->by_rows) {
        dense_part(p, first * MR, end * MR < p->m ? end * MR : p->m, 0, (p->n + NR - 1) / NR);
    } else {
        dense_part(p, 0, p->m, first, end);
    }
}

static void conv_chunk(void *context, int chunk) {
    split_call *s = context;
    int first, end;
    split_range(s, chunk, &first, &end);
    if (conv_part(s->conv, first * MR, end * MR < s->conv->m ? end * MR : s->conv->m) != 0) atomic_store(&s->failed, 1);
}

/* Whether a call of m×n×k multiply-adds is worth waking other threads for. */
static int worth_splitting(int m, int n, int k) { return pg_threads() > 1 && (double)m * n * k >= 262144.0; }

static int gemm_dense(const dense_product *p) {
    int blocks = (p->m + MR - 1) / MR, panels = (p->n + NR - 1) / NR, threads = pg_threads();
    if (!worth_splitting(p->m, p->n, p->k) || (blocks == 1 && panels == 1)) return dense_product_run(p);
    split_call s = {.dense = p, .by_rows = blocks >= 2 * threads || blocks >= panels};
    s.units = s.by_rows ? blocks : panels;
    s.chunks = s.units < threads ? s.units : threads;
    atomic_init(&s.failed, 0);
    pg_parallel_for(s.chunks, dense_chunk, &s);
    return 0;
}

static int gemm_conv(const conv_product *p) {
    int blocks = (p->m + MR - 1) / MR, threads = pg_threads();
    if (!worth_splitting(p->m, p->n, p->k) || blocks == 1) return conv_part(p, 0, p->m);
    split_call s = {.conv = p, .units = blocks, .chunks = blocks < threads ? blocks : threads};
    atomic_init(&s.failed, 0);
    pg_parallel_for(s.chunks, conv_chunk, &s);
    return atomic_load(&s.failed) ? -1 : 0;
}

#else

int pg_supported(void) { return 0; }

int dense_product_run(const dense_product *p) {
    (void)p;
    return -1;
}

static int gemm_dense(const dense_product *p) { return dense_product_run(p); }

static int gemm_conv(const conv_product *p) {
    (void)p; (void)patch_values; (void)store_partial; (void)reserve;
    return -1;
}

#endif

int pg_gemm_dense(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                  const float *residual, int activation, float *c) {
    if (m <= 0 || n <= 0 || k <= 0) return -1;
    dense_product p = {m, n, k, a, lda, packed, bias, residual, activation, c};
    return gemm_dense(&p);
}

int pg_gemm_conv(int m, int n, int k, const pg_conv_geometry *geometry, const float *packed, const float *bias,
                 const float *residual, int activation, float *c) {
    if (m <= 0 || n <= 0 || k <= 0 || k != geometry->kernel_h * geometry->kernel_w * geometry->channels) return -1;
    conv_product p = {m, n, k, geometry, packed, bias, residual, activation, c};
    return gemm_conv(&p);
}
