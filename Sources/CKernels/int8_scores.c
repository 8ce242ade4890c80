// The serving model's scoring loop in C because the compiler vectorizes the int8 -> float
// conversion here (Swift's generic SIMD integer-to-float conversion is lowered lane by lane).
// Rows are in blocks of 16, dimension-major: one query element times 16 rows per step, so
// the 16 sums are independent lanes and no horizontal sum is needed.
//
// The package builds for baseline x86-64 (SSE2); target_clones adds an x86-64-v3 (AVX2, FMA) version
// chosen once at load time (glibc ifunc), so one binary runs everywhere and uses AVX2 where
// the CPU has it.
#include "int8_scores.h"

#if defined(__x86_64__) && defined(__clang__)
#define CROSSREC_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CROSSREC_CLONES
#endif

CROSSREC_CLONES
void crossrec_int8_scores(const int8_t *values, const float *scales, const float *offsets, size_t count,
                          size_t dimension, const float *query, float *scores) {
    size_t blocks = (count + 15) / 16;
    for (size_t b = 0; b < blocks; b++) {
        const int8_t *block = values + b * dimension * 16;
        float sums[16] = {0};
        for (size_t j = 0; j < dimension; j++) {
            float q = query[j];
            const int8_t *lane = block + j * 16;
            for (size_t r = 0; r < 16; r++) sums[r] += (float)lane[r] * q;
        }
        size_t rows = count - b * 16 < 16 ? count - b * 16 : 16;
        if (offsets) {
            for (size_t r = 0; r < rows; r++) scores[b * 16 + r] = offsets[b * 16 + r] + sums[r] * scales[b * 16 + r];
        } else {
            for (size_t r = 0; r < rows; r++) scores[b * 16 + r] = sums[r] * scales[b * 16 + r];
        }
    }
}

// Top-k scans call this between offers: after the first k items almost every score is below
// the floor, and 16 compares per step (no branch per item) find the next candidate.
CROSSREC_CLONES
size_t crossrec_next_at_least(const float *scores, size_t from, size_t count, float floor) {
    size_t i = from;
    for (; i + 16 <= count; i += 16) {
        int hit = 0;
        for (size_t r = 0; r < 16; r++) hit |= scores[i + r] >= floor;
        if (hit) break;
    }
    for (; i < count; i++) {
        if (scores[i] >= floor) return i;
    }
    return count;
}
