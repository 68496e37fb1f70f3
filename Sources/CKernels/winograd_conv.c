#include "winograd_conv.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_support.h"

enum { TILE = 4, POSITIONS = TILE * TILE, ROW_BLOCK = 6, SPREAD = 16 };

size_t pg_winograd_size(int cin, int cout) {
    size_t one = pg_packed_size(cin, cout);
    return one * POSITIONS;
}

int pg_winograd_pack(const float *filter, int cin, int cout, float *packed) {
    size_t one = pg_packed_size(cin, cout), matrix = (size_t)cin * cout;
    float *transformed = malloc(POSITIONS * matrix * sizeof(float));
    if (!transformed) return -1;
    for (int ci = 0; ci < cin; ci++) {
        for (int co = 0; co < cout; co++) {
            float g[3][3], t[4][3];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) g[ky][kx] = filter[((size_t)(ky * 3 + kx) * cin + ci) * cout + co];
            /* t = G g, then u = t Gᵀ, with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]. */
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[0][j];
                t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
                t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
                t[3][j] = g[2][j];
            }
            for (int i = 0; i < 4; i++) {
                float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; j++) transformed[(size_t)(i * 4 + j) * matrix + (size_t)ci * cout + co] = u[j];
            }
        }
    }
    for (int p = 0; p < POSITIONS; p++) pg_pack_weights(transformed + p * matrix, cin, cout, cout, 0, packed + p * one);
    free(transformed);
    return 0;
}

#if defined(__x86_64__)
#include <immintrin.h>

static _Thread_local work_buffer transformed_inputs;
static _Thread_local work_buffer products;
static _Thread_local work_buffer zero_pixels;

#define AVX2 __attribute__((target("avx2,fma")))

/* Bᵀ d B for eight channels of one tile; `pixels[r][col]` points at the tile's pixel, or at zeros outside
   the image. Position p of the result goes to v + p·stride. */
AVX2 static inline void transform_input(const float *const pixels[4][4], int channel, float *v, size_t stride) {
    __m256 d[4][4], t[4][4];
    for (int r = 0; r < 4; r++)
        for (int col = 0; col < 4; col++) d[r][col] = _mm256_loadu_ps(pixels[r][col] + channel);
    for (int col = 0; col < 4; col++) {
        t[0][col] = _mm256_sub_ps(d[0][col], d[2][col]);
        t[1][col] = _mm256_add_ps(d[1][col], d[2][col]);
        t[2][col] = _mm256_sub_ps(d[2][col], d[1][col]);
        t[3][col] = _mm256_sub_ps(d[1][col], d[3][col]);
    }
    for (int r = 0; r < 4; r++) {
        float *out = v + (size_t)r * 4 * stride + channel;
        _mm256_storeu_ps(out, _mm256_sub_ps(t[r][0], t[r][2]));
        _mm256_storeu_ps(out + stride, _mm256_add_ps(t[r][1], t[r][2]));
        _mm256_storeu_ps(out + 2 * stride, _mm256_sub_ps(t[r][2], t[r][1]));
        _mm256_storeu_ps(out + 3 * stride, _mm256_sub_ps(t[r][1], t[r][3]));
    }
}

/* Aᵀ m A for eight output channels of one tile (m position p at m + p·stride), stored to the 2×2 outputs
   `out[i][j]` that exist (NULL otherwise). `activation` is a constant at each use. */
__attribute__((target("avx2,fma"), always_inline))
static inline void transform_output(const float *m, size_t stride, int channel, float *const out[2][2],
                                    const float *const added[2][2], const float *bias, const int activation) {
    __m256 s[2][4];
    for (int col = 0; col < 4; col++) {
        __m256 m0 = _mm256_loadu_ps(m + (size_t)col * stride + channel);
        __m256 m1 = _mm256_loadu_ps(m + (size_t)(4 + col) * stride + channel);
        __m256 m2 = _mm256_loadu_ps(m + (size_t)(8 + col) * stride + channel);
        __m256 m3 = _mm256_loadu_ps(m + (size_t)(12 + col) * stride + channel);
        s[0][col] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        s[1][col] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    const float *channel_bias = bias ? bias + channel : NULL;
    for (int i = 0; i < 2; i++) {
        __m256 y0 = _mm256_add_ps(_mm256_add_ps(s[i][0], s[i][1]), s[i][2]);
        __m256 y1 = _mm256_sub_ps(_mm256_sub_ps(s[i][1], s[i][2]), s[i][3]);
        if (out[i][0])
            _mm256_storeu_ps(out[i][0] + channel,
                             finish_vector(y0, channel_bias, added[i][0] ? added[i][0] + channel : NULL, activation));
        if (out[i][1])
            _mm256_storeu_ps(out[i][1] + channel,
                             finish_vector(y1, channel_bias, added[i][1] ? added[i][1] + channel : NULL, activation));
    }
}

/* A tile's image and tile row and column, stepped through in order without dividing. */
typedef struct {
    size_t image;
    int ty, tx;
} tile_position;

static inline void advance(tile_position *position, int tiles_h, int tiles_w) {
    if (++position->tx == tiles_w) {
        position->tx = 0;
        if (++position->ty == tiles_h) {
            position->ty = 0;
            position->image++;
        }
    }
}

/* One Winograd convolution call as the pool's chunks see it. */
typedef struct {
    const pg_conv_geometry *g;
    int cout;
    const float *packed, *bias, *residual;
    int activation;
    float *c;
    size_t tiles;
    int chunks;
    atomic_int failed;
} winograd_call;

/* Tiles first ..< end of the call (first a multiple of ROW_BLOCK, so every tile is multiplied in the same
   row group whatever the split, and results do not depend on it). */
AVX2 static int winograd_tiles(const winograd_call *call, size_t first_tile, size_t end_tile) {
    const pg_conv_geometry *g = call->g;
    int cin = g->channels, cout = call->cout, activation = call->activation;
    const float *packed = call->packed, *bias = call->bias, *residual = call->residual;
    float *c = call->c;
    int tiles_h = (g->out_h + 1) / 2, tiles_w = (g->out_w + 1) / 2;
    /* Tiles transformed together: their 16 input and 16 product matrices stay near 128 KiB. */
    int block = 2048 / (cin + cout);
    block = block < ROW_BLOCK ? ROW_BLOCK : block > 48 ? 48 : block / ROW_BLOCK * ROW_BLOCK;
    float *v = reserve(&transformed_inputs, POSITIONS * ((size_t)block * cin + SPREAD) * sizeof(float), 0);
    float *m = reserve(&products, POSITIONS * ((size_t)block * cout + SPREAD) * sizeof(float), 0);
    const float *zeros = reserve(&zero_pixels, (size_t)cin * sizeof(float), 1);
    if (!v || !m || !zeros) return -1;
    size_t row_size = (size_t)g->width * cin;
    size_t one = pg_packed_size(cin, cout);
    size_t image_size = (size_t)g->height * g->width * cin;
    size_t per_image = (size_t)tiles_h * tiles_w;
    size_t within = first_tile % per_image;
    tile_position start = {first_tile / per_image, (int)(within / (size_t)tiles_w), (int)(within % (size_t)tiles_w)};
    for (size_t first = first_tile; first < end_tile; first += (size_t)block) {
        int count = end_tile - first < (size_t)block ? (int)(end_tile - first) : block;
        /* One spare cache line between position matrices keeps their rows out of the same L1 sets. */
        size_t v_stride = (size_t)count * cin + SPREAD, m_stride = (size_t)count * cout + SPREAD;
        tile_position position = start;
        for (int t = 0; t < count; t++, advance(&position, tiles_h, tiles_w)) {
            int ty = position.ty, tx = position.tx;
            const float *image = g->image + position.image * image_size;
            int y0 = 2 * ty - g->pad_top, x0 = 2 * tx - g->pad_left;
            const float *pixels[4][4];
            if (y0 >= 0 && y0 + 4 <= g->height && x0 >= 0 && x0 + 4 <= g->width) {
                const float *corner = image + ((size_t)y0 * g->width + x0) * cin;
                for (int r = 0; r < 4; r++)
                    for (int col = 0; col < 4; col++) pixels[r][col] = corner + (size_t)r * row_size + (size_t)col * cin;
            } else {
                for (int r = 0; r < 4; r++) {
                    int iy = y0 + r;
                    for (int col = 0; col < 4; col++) {
                        int ix = x0 + col;
                        pixels[r][col] = iy >= 0 && iy < g->height && ix >= 0 && ix < g->width
                                             ? image + ((size_t)iy * g->width + ix) * cin
                                             : zeros;
                    }
                }
            }
            for (int channel = 0; channel < cin; channel += 8) transform_input(pixels, channel, v + (size_t)t * cin, v_stride);
        }
        for (int p = 0; p < POSITIONS; p++) {
            dense_product product = {count, cout, cin, v + p * v_stride, cin, packed + p * one, NULL, NULL, PG_NONE,
                                     m + p * m_stride};
            if (dense_product_run(&product) != 0) return -1;
        }
        position = start;
        for (int t = 0; t < count; t++, advance(&position, tiles_h, tiles_w)) {
            int ty = position.ty, tx = position.tx;
            size_t image_index = position.image;
            float *out[2][2];
            const float *added[2][2];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    int oy = 2 * ty + i, ox = 2 * tx + j;
                    int inside = oy < g->out_h && ox < g->out_w;
                    size_t offset = ((image_index * g->out_h + (size_t)oy) * g->out_w + (size_t)ox) * cout;
                    out[i][j] = inside ? c + offset : NULL;
                    added[i][j] = inside && residual ? residual + offset : NULL;
                }
            }
            const float *products_of_tile = m + (size_t)t * cout;
            switch (activation) {
            case PG_RELU:
                for (int channel = 0; channel < cout; channel += 8)
                    transform_output(products_of_tile, m_stride, channel, out, added, bias, PG_RELU);
                break;
            case PG_RELU6:
                for (int channel = 0; channel < cout; channel += 8)
                    transform_output(products_of_tile, m_stride, channel, out, added, bias, PG_RELU6);
                break;
            default:
                for (int channel = 0; channel < cout; channel += 8)
                    transform_output(products_of_tile, m_stride, channel, out, added, bias, PG_NONE);
            }
        }
        start = position;
    }
    return 0;
}

static void winograd_chunk(void *context, int chunk) {
    winograd_call *call = context;
    size_t groups = (call->tiles + ROW_BLOCK - 1) / ROW_BLOCK;
    size_t first = groups * (size_t)chunk / (size_t)call->chunks * ROW_BLOCK;
    size_t end = groups * (size_t)(chunk + 1) / (size_t)call->chunks * ROW_BLOCK;
    if (end > call->tiles) end = call->tiles;
    if (first < end && winograd_tiles(call, first, end) != 0) atomic_store(&call->failed, 1);
}

static int winograd_conv(int batch, const pg_conv_geometry *g, int cout, const float *packed, const float *bias,
                         const float *residual, int activation, float *c) {
    size_t tiles = (size_t)((g->out_h + 1) / 2) * (size_t)((g->out_w + 1) / 2) * (size_t)batch;
    winograd_call call = {g, cout, packed, bias, residual, activation, c, tiles, 1};
    atomic_init(&call.failed, 0);
    size_t groups = (tiles + ROW_BLOCK - 1) / ROW_BLOCK;
    int threads = pg_threads();
    /* Multiply-adds of the 16 products per tile decide whether other threads are worth waking. */
    if (threads > 1 && groups > 1 && (double)tiles * POSITIONS * g->channels * cout >= 262144.0)
        call.chunks = groups < (size_t)threads ? (int)groups : threads;
    pg_parallel_for(call.chunks, winograd_chunk, &call);
    return atomic_load(&call.failed) ? -1 : 0;
}

int pg_winograd_conv(int batch, const pg_conv_geometry *g, int cout, const float *packed, const float *bias,
                     const float *residual, int activation, float *c) {
    if (!pg_supported() || batch <= 0 || cout <= 0 || cout % 8 || g->channels <= 0 || g->channels % 8 ||
        g->kernel_h != 3 || g->kernel_w != 3 || g->stride_h != 1 || g->stride_w != 1 || g->dilation_h != 1 ||
        g->dilation_w != 1 || g->out_h <= 0 || g->out_w <= 0)
        return -1;
    return winograd_conv(batch, g, cout, packed, bias, residual, activation, c);
}

#else

int pg_winograd_conv(int batch, const pg_conv_geometry *g, int cout, const float *packed, const float *bias,
                     const float *residual, int activation, float *c) {
    (void)batch; (void)g; (void)cout; (void)packed; (void)bias; (void)residual; (void)activation; (void)c;
    return -1;
}

#endif
