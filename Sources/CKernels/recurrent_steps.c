#include "recurrent_cells.h"

#include <stdatomic.h>
#include <stddef.h>

#include "kernel_support.h"
#include "thread_pool.h"

enum { ROW_GROUP = 6 };

/* One timestep of either cell as the pool's chunks see it. */
typedef struct {
    int is_lstm;
    int rows, units;
    const float *const *input_rows;
    const float *hidden, *packed, *input_bias, *recurrent_bias;
    float *recurrent, *cell, *next;
    int chunks;
    atomic_int failed;
} step_call;

/* Rows first ..< end (first a multiple of ROW_GROUP, so each row is multiplied in the same row group
   whatever the split): their recurrent product, then their gates. */
static int step_rows(const step_call *s, int first, int end) {
    int units = s->units, gates = (s->is_lstm ? 4 : 3) * units;
    float *recurrent = s->recurrent + (size_t)first * gates;
    const float *hidden = s->hidden + (size_t)first * units;
    dense_product product = {end - first, gates, units, hidden, units, s->packed, NULL, NULL, PG_NONE, recurrent};
    if (dense_product_run(&product) != 0) return -1;
    if (s->is_lstm) {
        rc_lstm_rows(end - first, units, s->input_rows + first, recurrent, s->input_bias, s->cell + (size_t)first * units,
                     s->next + (size_t)first * units);
    } else {
        rc_gru_rows(end - first, units, s->input_rows + first, s->input_bias, recurrent, s->recurrent_bias, hidden,
                    s->next + (size_t)first * units);
    }
    return 0;
}

static void step_chunk(void *context, int chunk) {
    step_call *s = context;
    int groups = (s->rows + ROW_GROUP - 1) / ROW_GROUP;
    int first = (int)((long long)groups * chunk / s->chunks) * ROW_GROUP;
    int end = (int)((long long)groups * (chunk + 1) / s->chunks) * ROW_GROUP;
    if (end > s->rows) end = s->rows;
    if (first < end && step_rows(s, first, end) != 0) atomic_store(&s->failed, 1);
}

static int run_step(step_call *s) {
    int groups = (s->rows + ROW_GROUP - 1) / ROW_GROUP, threads = pg_threads();
    int gates = (s->is_lstm ? 4 : 3) * s->units;
    s->chunks = 1;
    if (threads > 1 && groups > 1 && (double)s->rows * s->units * gates >= 262144.0)
        s->chunks = groups < threads ? groups : threads;
    atomic_init(&s->failed, 0);
    pool_run(s->chunks, step_chunk, s);
    return atomic_load(&s->failed) ? -1 : 0;
}

int rc_lstm_step(int rows, int units, const float *const *input_rows, const float *hidden, const float *packed_recurrent,
                 float *recurrent, const float *bias, float *cell, float *next) {
    if (rows <= 0 || units <= 0) return -1;
    step_call s = {.is_lstm = 1, .rows = rows, .units = units, .input_rows = input_rows, .hidden = hidden,
                   .packed = packed_recurrent, .input_bias = bias, .recurrent = recurrent, .cell = cell, .next = next};
    return run_step(&s);
}

int rc_gru_step(int rows, int units, const float *const *input_rows, const float *input_bias, const float *hidden,
                const float *packed_recurrent, float *recurrent, const float *recurrent_bias, float *next) {
    if (rows <= 0 || units <= 0) return -1;
    step_call s = {.is_lstm = 0, .rows = rows, .units = units, .input_rows = input_rows, .hidden = hidden,
                   .packed = packed_recurrent, .input_bias = input_bias, .recurrent_bias = recurrent_bias,
                   .recurrent = recurrent, .next = next};
    return run_step(&s);
}
