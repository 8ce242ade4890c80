// The ranking head's step in C: in Swift the same loops ran at a third of the speed
// (per-element bounds and exclusivity checks on the row pointers, no vectorized clamp).
#include "rank_step.h"

#include <math.h>

#include "cpu_features.h"
#include "sgd_steps.h"

#pragma clang fp contract(off)

static inline float clamp_to(float v, float limit) {
    v = v > limit ? limit : v;
    return v < -limit ? -limit : v;
}

// The step, inlined into a baseline and an AVX2 copy: the loops are element-wise or summed in
// fixed 8-lane orders and nothing is contracted, so both copies give the same bits.
__attribute__((always_inline)) static inline void rank_step(float *p, float *const *rows, size_t count, size_t k,
                                                            float lr, float reg, float biasRate, float userRate,
                                                            float limit, float *scratch, int avx2) {
    float *g = scratch;
    float highest = -INFINITY;
    for (size_t c = 0; c < count; c++) {
        g[c] = rows[c][k] + crossrec_dot(p, rows[c], k, avx2);
        if (g[c] > highest) highest = g[c];
    }
    float total = 0;
    for (size_t c = 0; c < count; c++) {
        g[c] = expf(g[c] - highest);
        total += g[c];
    }
    for (size_t c = 0; c < count; c++) g[c] = (c == 0 ? 1.0f : 0.0f) - g[c] / total;

    // p_old is needed by the rows' steps: keep it (k is at most a few hundred).
    float old[k];
    for (size_t j = 0; j < k; j++) old[j] = p[j];
    if (userRate > 0) {
        for (size_t c = 0; c < count; c++) {
            const float *w = rows[c];
            float gc = userRate * g[c];
            for (size_t j = 0; j < k; j++) p[j] += gc * w[j];
        }
        for (size_t j = 0; j < k; j++) p[j] = clamp_to(p[j], limit);
    }
    for (size_t c = 0; c < count; c++) {
        float *w = rows[c];
        float gc = g[c];
        // The squared norm of the row's gradient in 8 lanes, then in order.
        float lanes[8] = {0};
        size_t blocked = k - k % 8;
        for (size_t j = 0; j < blocked; j += 8) {
            for (size_t l = 0; l < 8; l++) {
                float step = gc * old[j + l] - reg * w[j + l];
                lanes[l] += step * step;
            }
        }
        float squared = -0.0f;
        for (size_t l = 0; l < 8; l++) squared += lanes[l];
        for (size_t j = blocked; j < k; j++) {
            float step = gc * old[j] - reg * w[j];
            squared += step * step;
        }
        float rate = crossrec_adagrad_rate(lr, &w[k + 1], squared, k);
        for (size_t j = 0; j < k; j++) w[j] = clamp_to(w[j] + rate * (gc * old[j] - reg * w[j]), limit);
        // The bias at a constant rate: under AdaGrad a new item's first positives (tiny
        // accumulator) lifted it above items chosen a thousand times.
        w[k] = clamp_to(w[k] + biasRate * gc, limit);
    }
}

#if CROSSREC_X86
__attribute__((target("avx2"))) static void rank_step_avx2(float *p, float *const *rows, size_t count, size_t k,
                                                           float lr, float reg, float biasRate, float userRate,
                                                           float limit, float *scratch) {
    rank_step(p, rows, count, k, lr, reg, biasRate, userRate, limit, scratch, 1);
}
#endif

void crossrec_rank_step(float *p, float *const *rows, size_t count, size_t k, float lr, float reg, float biasRate,
                        float userRate, float limit, float *scratch, int allowAVX2) {
#if CROSSREC_X86
    if (crossrec_use_avx2(allowAVX2)) {
        rank_step_avx2(p, rows, count, k, lr, reg, biasRate, userRate, limit, scratch);
        return;
    }
#endif
    rank_step(p, rows, count, k, lr, reg, biasRate, userRate, limit, scratch, 0);
}
