// The serving model's scoring loop in C because the compiler vectorizes the int8 → float
// conversion here (Swift's generic SIMD integer-to-float conversion is lowered lane by lane).
// Sixteen independent partial sums: without them strict float ordering forbids vectorizing
// the reduction. `stride` is a multiple of 16.
#include "int8_scores.h"

void crossrec_int8_scores(const int8_t *values, const float *scales, size_t count, size_t stride,
                          const float *query, float *scores) {
    for (size_t i = 0; i < count; i++) {
        const int8_t *row = values + i * stride;
        float partial[16] = {0};
        for (size_t j = 0; j < stride; j += 16) {
            for (size_t lane = 0; lane < 16; lane++) partial[lane] += (float)row[j + lane] * query[j + lane];
        }
        float sum = 0;
        for (size_t lane = 0; lane < 16; lane++) sum += partial[lane];
        scores[i] = sum * scales[i];
    }
}
