#include "recurrent_cells.h"

#include <stddef.h>
#include <string.h>

/* Eight float lanes. The same source is compiled twice, for AVX2/FMA and for the baseline target, by
   inlining the bodies below into one function of each kind. */
typedef float vf __attribute__((vector_size(32)));
typedef int vi __attribute__((vector_size(32)));

/* Every function taking or returning these is always inlined, so none is called with the vector ABI
   this warning is about. */
#pragma clang diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__((always_inline))

INLINE vf splat(float x) { return (vf){x, x, x, x, x, x, x, x}; }

INLINE vf load(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void store(float *p, vf v) { memcpy(p, &v, sizeof v); }

/* Lanes of `yes` where `mask` is set, of `no` elsewhere. */
INLINE vf pick(vi mask, vf yes, vf no) { return (vf)((mask & (vi)yes) | (~mask & (vi)no)); }

/* x limited to [lower, upper]; NaN stays NaN. */
INLINE vf clamp(vf x, float lower, float upper) {
    x = pick(x < splat(lower), splat(lower), x);
    return pick(x > splat(upper), splat(upper), x);
}

/* The rational approximations of Eigen's float logistic and tanh. */

/* sigmoid(x) = 0.5 + x·p(x²)/q(x²) on [-18, 18], where it saturates in float, kept within [0, 1] (the
   approximation dips a few ulps below 0 far left). */
INLINE vf v_sigmoid(vf x) {
    x = clamp(x, -18.0f, 18.0f);
    vf x2 = x * x;
    vf p = x2 * 4.37031012579801e-11f + 1.15627324459942e-07f;
    p = x2 * p + 6.08574864600143e-05f;
    p = x2 * p + 8.51377133304701e-03f;
    p = x2 * p + 2.48287947061529e-01f;
    vf q = x2 * 6.10247389755681e-13f + 5.76102136993427e-09f;
    q = x2 * q + 6.29106785017040e-06f;
    q = x2 * q + 1.70198817374094e-03f;
    q = x2 * q + 1.16817656904453e-01f;
    q = x2 * q + 9.93151921023180e-01f;
    return clamp(x * p / q + 0.5f, 0.0f, 1.0f);
}

/* tanh(x) = x·p(x²)/q(x²) on [-9, 9] (±1 beyond), x itself below |x| = 0.0004. */
INLINE vf v_tanh(vf x) {
    vf limited = clamp(x, -9.0f, 9.0f);
    vf x2 = limited * limited;
    vf p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = x2 * p + -8.60467152213735e-11f;
    p = x2 * p + 5.12229709037114e-08f;
    p = x2 * p + 1.48572235717979e-05f;
    p = x2 * p + 6.37261928875436e-04f;
    p = x2 * p + 4.89352455891786e-03f;
    vf q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = x2 * q + 2.26843463243900e-03f;
    q = x2 * q + 4.89352518554385e-03f;
    return pick(x2 < splat(0.0004f * 0.0004f), x, limited * p / q);
}

/* Eight columns of one LSTM row; gate k of the preactivations starts k·stride floats further on. */
INLINE void lstm_lanes(const float *x, const float *r, const float *bias, size_t stride, float *c, float *h) {
#define GATE(k) ((load(x + (k) * stride) + load(r + (k) * stride)) + load(bias + (k) * stride))
    vf new_cell = v_sigmoid(GATE(1)) * load(c) + v_sigmoid(GATE(0)) * v_tanh(GATE(2));
    vf new_hidden = v_sigmoid(GATE(3)) * v_tanh(new_cell);
#undef GATE
    store(c, new_cell);
    store(h, new_hidden);
}

INLINE void lstm_rows(int rows, int units, const float *const *input_rows, const float *recurrent, const float *bias,
                      float *cell, float *hidden) {
    size_t stride = (size_t)units, width = 4 * stride;
    for (int row = 0; row < rows; row++) {
        const float *x = input_rows[row], *r = recurrent + row * width;
        float *c = cell + row * stride, *h = hidden + row * stride;
        int j = 0;
        for (; j + 8 <= units; j += 8) lstm_lanes(x + j, r + j, bias + j, stride, c + j, h + j);
        if (j == units) continue;
        /* The last columns, through zero-padded copies. */
        size_t rest = (size_t)(units - j) * sizeof(float);
        float xs[32] = {0}, rs[32] = {0}, bs[32] = {0}, cs[8] = {0}, hs[8];
        for (int k = 0; k < 4; k++) {
            memcpy(xs + 8 * k, x + k * stride + j, rest);
            memcpy(rs + 8 * k, r + k * stride + j, rest);
            memcpy(bs + 8 * k, bias + k * stride + j, rest);
        }
        memcpy(cs, c + j, rest);
        lstm_lanes(xs, rs, bs, 8, cs, hs);
        memcpy(c + j, cs, rest);
        memcpy(h + j, hs, rest);
    }
}

/* Eight columns of one GRU row; gate k starts k·stride floats further on. */
INLINE void gru_lanes(const float *x, const float *x_bias, const float *r, const float *r_bias, size_t stride,
                      const float *before, float *h) {
#define PART(base, bias, k) (load(base + (k) * stride) + load(bias + (k) * stride))
    vf update = v_sigmoid(PART(x, x_bias, 0) + PART(r, r_bias, 0));
    vf reset = v_sigmoid(PART(x, x_bias, 1) + PART(r, r_bias, 1));
    vf candidate = v_tanh(PART(x, x_bias, 2) + reset * PART(r, r_bias, 2));
#undef PART
    store(h, update * load(before) + (1.0f - update) * candidate);
}

INLINE void gru_rows(int rows, int units, const float *const *input_rows, const float *input_bias,
                     const float *recurrent, const float *recurrent_bias, const float *previous, float *hidden) {
    size_t stride = (size_t)units, width = 3 * stride;
    for (int row = 0; row < rows; row++) {
        const float *x = input_rows[row], *r = recurrent + row * width;
        const float *before = previous + row * stride;
        float *h = hidden + row * stride;
        int j = 0;
        for (; j + 8 <= units; j += 8) {
            gru_lanes(x + j, input_bias + j, r + j, recurrent_bias + j, stride, before + j, h + j);
        }
        if (j == units) continue;
        size_t rest = (size_t)(units - j) * sizeof(float);
        float xs[24] = {0}, xb[24] = {0}, rs[24] = {0}, rb[24] = {0}, bs[8] = {0}, hs[8];
        for (int k = 0; k < 3; k++) {
            memcpy(xs + 8 * k, x + k * stride + j, rest);
            memcpy(xb + 8 * k, input_bias + k * stride + j, rest);
            memcpy(rs + 8 * k, r + k * stride + j, rest);
            memcpy(rb + 8 * k, recurrent_bias + k * stride + j, rest);
        }
        memcpy(bs, before + j, rest);
        gru_lanes(xs, xb, rs, rb, 8, bs, hs);
        memcpy(h + j, hs, rest);
    }
}

/* y = f(x) for `count` values, the last ones through a zero-padded copy. */
#define APPLY(f, count, x, y)                                         \
    do {                                                              \
        int i = 0;                                                    \
        for (; i + 8 <= count; i += 8) store(y + i, f(load(x + i)));  \
        if (i < count) {                                              \
            size_t rest = (size_t)(count - i) * sizeof(float);        \
            float lanes[8] = {0};                                     \
            memcpy(lanes, x + i, rest);                               \
            store(lanes, f(load(lanes)));                             \
            memcpy(y + i, lanes, rest);                               \
        }                                                             \
    } while (0)

INLINE void sigmoid_values(int count, const float *x, float *y) { APPLY(v_sigmoid, count, x, y); }

INLINE void tanh_values(int count, const float *x, float *y) { APPLY(v_tanh, count, x, y); }

#if defined(__x86_64__)
static int has_avx2_fma;

__attribute__((constructor)) static void detect_avx2_fma(void) {
    __builtin_cpu_init();
    has_avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static void lstm_rows_avx2(int rows, int units, const float *const *input_rows, const float *recurrent,
                                const float *bias, float *cell, float *hidden) {
    lstm_rows(rows, units, input_rows, recurrent, bias, cell, hidden);
}

AVX2 static void gru_rows_avx2(int rows, int units, const float *const *input_rows, const float *input_bias,
                               const float *recurrent, const float *recurrent_bias, const float *previous,
                               float *hidden) {
    gru_rows(rows, units, input_rows, input_bias, recurrent, recurrent_bias, previous, hidden);
}

AVX2 static void sigmoid_avx2(int count, const float *x, float *y) { sigmoid_values(count, x, y); }

AVX2 static void tanh_avx2(int count, const float *x, float *y) { tanh_values(count, x, y); }
#endif

void rc_lstm_rows(int rows, int units, const float *const *input_rows, const float *recurrent, const float *bias,
                  float *cell, float *hidden) {
#if defined(__x86_64__)
    if (has_avx2_fma) {
        lstm_rows_avx2(rows, units, input_rows, recurrent, bias, cell, hidden);
        return;
    }
#endif
    lstm_rows(rows, units, input_rows, recurrent, bias, cell, hidden);
}

void rc_gru_rows(int rows, int units, const float *const *input_rows, const float *input_bias,
                 const float *recurrent, const float *recurrent_bias, const float *previous, float *hidden) {
#if defined(__x86_64__)
    if (has_avx2_fma) {
        gru_rows_avx2(rows, units, input_rows, input_bias, recurrent, recurrent_bias, previous, hidden);
        return;
    }
#endif
    gru_rows(rows, units, input_rows, input_bias, recurrent, recurrent_bias, previous, hidden);
}

void rc_sigmoid(int count, const float *x, float *y) {
#if defined(__x86_64__)
    if (has_avx2_fma) {
        sigmoid_avx2(count, x, y);
        return;
    }
#endif
    sigmoid_values(count, x, y);
}

void rc_tanh(int count, const float *x, float *y) {
#if defined(__x86_64__)
    if (has_avx2_fma) {
        tanh_avx2(count, x, y);
        return;
    }
#endif
    tanh_values(count, x, y);
}
