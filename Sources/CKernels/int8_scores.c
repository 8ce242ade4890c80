// The serving model's scoring loop in C: Swift lowers generic SIMD integer conversions lane by
// lane, and here the integer multiply-add instructions are reachable.
//
// Integer dot products: the query is quantized to int16 (per call, scale = max |q| / qmax),
// so each product of an int8 row element and a query element is exact in int32, and two of
// them are summed by one PMADDWD. Rows are in blocks of 16, in pairs of dimensions: for each
// pair, 32 bytes hold rows 0..15 as (element 2p, element 2p + 1), so one 16-byte load widened
// to int16 feeds 8 rows. The sums are integers, so every version below gives the same bits;
// the float epilogue is shared and never contracted into FMAs.
//
// The package builds for baseline x86-64 (SSE2); an AVX2 version is chosen at run time when
// the CPU has it, so one binary runs everywhere.
#include "int8_scores.h"

#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CROSSREC_X86 1
#endif

#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define CROSSREC_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CROSSREC_CLONES
#endif

// sums[b * 16 + r] = sum over pairs of the block's row r times the query pair (int32 exact).
static void int_sums_generic(const int8_t *values, size_t blocks, size_t pairs, const int16_t *query, int32_t *sums) {
    for (size_t b = 0; b < blocks; b++) {
        const int8_t *block = values + b * pairs * 32;
        int32_t acc[16] = {0};
        for (size_t p = 0; p < pairs; p++) {
            const int8_t *pair = block + p * 32;
            int32_t q0 = query[2 * p], q1 = query[2 * p + 1];
            for (size_t r = 0; r < 16; r++) acc[r] += pair[2 * r] * q0 + pair[2 * r + 1] * q1;
        }
        for (size_t r = 0; r < 16; r++) sums[b * 16 + r] = acc[r];
    }
}

#if CROSSREC_X86
__attribute__((target("avx2")))
static void int_sums_avx2(const int8_t *values, size_t blocks, size_t pairs, const int16_t *query, int32_t *sums) {
    for (size_t b = 0; b < blocks; b++) {
        const int8_t *block = values + b * pairs * 32;
        __m256i low = _mm256_setzero_si256(), high = _mm256_setzero_si256();
        for (size_t p = 0; p < pairs; p++) {
            int32_t both;
            __builtin_memcpy(&both, query + 2 * p, 4);
            __m256i q = _mm256_set1_epi32(both);
            __m256i rows0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + p * 32)));
            __m256i rows8 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + p * 32 + 16)));
            low = _mm256_add_epi32(low, _mm256_madd_epi16(rows0, q));
            high = _mm256_add_epi32(high, _mm256_madd_epi16(rows8, q));
        }
        _mm256_storeu_si256((__m256i *)(sums + b * 16), low);
        _mm256_storeu_si256((__m256i *)(sums + b * 16 + 8), high);
    }
}
#endif

// The float epilogue, vectorized; the same IEEE operations in every clone (no contraction).
CROSSREC_CLONES
static void finish_scores(const int32_t *sums, const float *scales, const float *offsets, size_t count, float queryScale,
                          float *scores) {
    if (offsets) {
        for (size_t i = 0; i < count; i++) scores[i] = offsets[i] + ((float)sums[i] * queryScale) * scales[i];
    } else {
        for (size_t i = 0; i < count; i++) scores[i] = ((float)sums[i] * queryScale) * scales[i];
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

// Quantizes the query to int16 in q (2 * pairs entries, the padding one 0) and returns the
// factor that turns integer sums back into query units.
static float quantize_query(const float *query, size_t dimension, size_t pairs, int16_t *q);

float crossrec_int8_quantize(const float *query, size_t dimension, int16_t *q) {
    return quantize_query(query, dimension, (dimension + 1) / 2, q);
}

static float quantize_query(const float *query, size_t dimension, size_t pairs, int16_t *q) {
    // |sum| <= 2 * pairs * 127 * qmax must fit in int32.
    double limit = 2147483647.0 / (254.0 * (double)pairs);
    double qmax = __builtin_floor(limit < 32767.0 ? limit : 32767.0);
    double largest = 0;
    for (size_t j = 0; j < dimension; j++) {
        double a = query[j] < 0 ? -(double)query[j] : (double)query[j];
        if (a > largest) largest = a;
    }
    // A zero (or non-finite) query scores every row at its offset.
    double step = largest > 0 && largest <= 3.4e38 && qmax >= 1 ? largest / qmax : 0;
    for (size_t j = 0; j < 2 * pairs; j++) {
        q[j] = (j < dimension && step > 0) ? (int16_t)__builtin_lround((double)query[j] / step) : 0;
    }
    return (float)step;
}

// Scores of the rows of `run` whole blocks starting at block `first` (into scores[0 ..< count
// - first * 16], at most 1024), with the query already quantized.
static void score_run(const int8_t *values, const float *scales, const float *offsets, size_t count, size_t pairs,
                      size_t first, size_t run, const int16_t *q, float queryScale, int allowAVX2, float *scores) {
    int32_t sums[16 * 64];
    const int8_t *runValues = values + first * pairs * 32;
#if CROSSREC_X86
    if (allowAVX2 && __builtin_cpu_supports("avx2")) int_sums_avx2(runValues, run, pairs, q, sums);
    else int_sums_generic(runValues, run, pairs, q, sums);
#else
    (void)allowAVX2;
    int_sums_generic(runValues, run, pairs, q, sums);
#endif
    size_t end = (first + run) * 16 < count ? (first + run) * 16 : count;
    finish_scores(sums, scales + first * 16, offsets ? offsets + first * 16 : 0, end - first * 16, queryScale, scores);
}

void crossrec_int8_scores(const int8_t *values, const float *scales, const float *offsets, size_t count,
                          size_t dimension, const float *query, float *scores, int allowAVX2) {
    size_t pairs = (dimension + 1) / 2;
    size_t blocks = (count + 15) / 16;
    int16_t stackQuery[256];
    int16_t *q = 2 * pairs <= 256 ? stackQuery : malloc(2 * pairs * sizeof(int16_t));
    float queryScale = quantize_query(query, dimension, pairs, q);
    // Blocks in runs of 64 so the int32 sums stay on the stack and in L1.
    for (size_t first = 0; first < blocks; first += 64) {
        size_t run = blocks - first < 64 ? blocks - first : 64;
        score_run(values, scales, offsets, count, pairs, first, run, q, queryScale, allowAVX2, scores + first * 16);
    }
    if (q != stackQuery) free(q);
}

size_t crossrec_int8_candidates(const int8_t *values, const float *scales, const float *offsets, size_t count,
                                size_t dimension, const int16_t *q, float queryScale, size_t firstRow, float floor,
                                int32_t *rows, float *scores, int allowAVX2) {
    size_t pairs = (dimension + 1) / 2;
    size_t blocks = (count + 15) / 16;
    size_t first = firstRow / 16;
    if (first >= blocks) return 0;
    size_t run = blocks - first < 64 ? blocks - first : 64;
    float runScores[16 * 64];
    score_run(values, scales, offsets, count, pairs, first, run, q, queryScale, allowAVX2, runScores);
    size_t length = ((first + run) * 16 < count ? (first + run) * 16 : count) - first * 16;
    size_t found = 0;
    for (size_t i = crossrec_next_at_least(runScores, 0, length, floor); i < length;
         i = crossrec_next_at_least(runScores, i + 1, length, floor)) {
        rows[found] = (int32_t)(first * 16 + i);
        scores[found] = runScores[i];
        found++;
    }
    return found;
}
