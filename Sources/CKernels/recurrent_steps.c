#include "recurrent_cells.h"

#include <stddef.h>

#include "packed_gemm.h"

/* The recurrent product of `rows` hidden states with the packed units × gates kernel into `recurrent`:
   split between the kernel threads when it is large and the pool is free (a small batch with many
   units), on this thread alone inside a row group that already runs on its own thread. */
static int recurrent_product(int rows, int units, int gates, const float *hidden, const float *packed, float *recurrent) {
    return pg_gemm_dense(rows, gates, units, hidden, units, packed, NULL, NULL, PG_NONE, recurrent);
}

int rc_lstm_step(int rows, int units, const float *const *input_rows, const float *hidden, const float *packed_recurrent,
                 float *recurrent, const float *bias, float *cell, float *next) {
    if (rows <= 0 || units <= 0) return -1;
    if (recurrent_product(rows, units, 4 * units, hidden, packed_recurrent, recurrent) != 0) return -1;
    rc_lstm_rows(rows, units, input_rows, recurrent, bias, cell, next);
    return 0;
}

int rc_gru_step(int rows, int units, const float *const *input_rows, const float *input_bias, const float *hidden,
                const float *packed_recurrent, float *recurrent, const float *recurrent_bias, float *next) {
    if (rows <= 0 || units <= 0) return -1;
    if (recurrent_product(rows, units, 3 * units, hidden, packed_recurrent, recurrent) != 0) return -1;
    rc_gru_rows(rows, units, input_rows, input_bias, recurrent, recurrent_bias, hidden, next);
    return 0;
}
