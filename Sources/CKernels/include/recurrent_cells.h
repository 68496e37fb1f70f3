#pragma once

/// Gate arithmetic of recurrent cells and the activations it uses, eight lanes at a time: AVX2/FMA on
/// CPUs that have it, portable vector code elsewhere. sigmoid and tanh are the rational approximations
/// Eigen uses for float: sigmoid within 2.5·10⁻⁷ of the exact value and inside [0, 1], tanh within
/// 4·10⁻⁷ relative; NaN stays NaN.

/// One LSTM timestep for `rows` batch rows, gate columns ordered input, forget, candidate, output:
/// with `z = (input + recurrent) + bias`, `c' = σ(z_f)·c + σ(z_i)·tanh(z_c)` and `h' = σ(z_o)·tanh(c')`.
/// `input_rows[r]` points at row r's input projection (4·units floats); `recurrent` has row stride
/// 4·units, `cell` (updated in place) and `hidden` units.
void rc_lstm_rows(int rows, int units, const float *const *input_rows, const float *recurrent, const float *bias,
                  float *cell, float *hidden);

/// One GRU timestep (reset gate applied after the recurrent bias) for `rows` batch rows, gate columns
/// ordered update, reset, candidate: with `x = input + input_bias`, `r = recurrent + recurrent_bias`,
/// `z = σ(x_z + r_z)`, `g = σ(x_r + r_r)`, `h' = z·h + (1 − z)·tanh(x_c + g·r_c)`.
/// `input_rows[r]` points at row r's input projection (3·units floats); `recurrent` has row stride
/// 3·units, `previous` and `hidden` (distinct) units.
void rc_gru_rows(int rows, int units, const float *const *input_rows, const float *input_bias,
                 const float *recurrent, const float *recurrent_bias, const float *previous, float *hidden);

/// y = sigmoid(x) for `count` values.
void rc_sigmoid(int count, const float *x, float *y);

/// y = tanh(x) for `count` values.
void rc_tanh(int count, const float *x, float *y);

/// One LSTM timestep with its recurrent product: `recurrent` (scratch, rows × 4·units) = `hidden` ×
/// the recurrent kernel (units × 4·units, packed by `pg_pack_weights`, through `pg_gemm_dense`), then
/// `rc_lstm_rows`. Callers split batches into row groups themselves. Returns 0, or -1 where the packed
/// kernels are unavailable.
int rc_lstm_step(int rows, int units, const float *const *input_rows, const float *hidden, const float *packed_recurrent,
                 float *recurrent, const float *bias, float *cell, float *next);

/// The same for a GRU timestep (`rc_gru_rows`, with `hidden` as the previous state; `next` distinct).
int rc_gru_step(int rows, int units, const float *const *input_rows, const float *input_bias, const float *hidden,
                const float *packed_recurrent, float *recurrent, const float *recurrent_bias, float *next);
