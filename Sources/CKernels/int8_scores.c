// The serving model's scoring loop in C: Swift lowers generic SIMD integer conversions lane by
// lane, and here the integer multiply-add instructions are reachable.
//
// Integer dot products: the query is quantized to int16 (per call, scale = max |q| / qmax),
// so each product of an int8 row element and a query element is exact in int32, and two of
// them are summed by one PMADDWD. Rows are in blocks of 16, in pairs of dimensions: for each
// pair, 32 bytes hold rows 0..15 as (element 2p, element 2p + 1), so one 16-byte load widened
// to int16 feeds 8 rows. The sums are integers, so every version below gives the same bits;
// the float epilogue does the same operations in the same order and is never contracted
// into FMAs. The AVX2 version keeps a block's sums in registers through the epilogue.
//
// The package builds for baseline x86-64 (SSE2); an AVX2 version is chosen at run time when
// the CPU has it, so one binary runs everywhere.
#include "int8_scores.h"

#include <stdlib.h>

#include "cpu_features.h"

#pragma clang fp contract(off)

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

// The float epilogue of one row: the same IEEE operations, in this order, in every version
// (no contraction).
static inline float finish(int32_t sum, float queryScale, float scale, const float *offset) {
    float product = ((float)sum * queryScale) * scale;
    return offset ? *offset + product : product;
}

// Scores of the rows of `run` whole blocks from block `first` into scores[0 ..< rows], block
// maxima into blockMax; rows = min(run * 16, count - first * 16).
static size_t run_scores_generic(const int8_t *values, const float *scales, const float *offsets, size_t count,
                                 size_t pairs, size_t first, size_t run, const int16_t *q, float queryScale,
                                 float *scores, float *blockMax) {
    size_t rows = (first + run) * 16 < count ? run * 16 : count - first * 16;
    for (size_t b = 0; b * 16 < rows; b++) {
        int32_t sums[16];
        int_sums_generic(values + (first + b) * pairs * 32, 1, pairs, q, sums);
        float largest = -__builtin_inff();
        for (size_t r = 0; r < 16 && b * 16 + r < rows; r++) {
            size_t row = (first + b) * 16 + r;
            float score = finish(sums[r], queryScale, scales[row], offsets ? offsets + row : 0);
            scores[b * 16 + r] = score;
            if (score > largest) largest = score;
        }
        blockMax[b] = largest;
    }
    return rows;
}

#if CROSSREC_X86
// The same, with the sums kept in registers through the float epilogue (a partial last block
// goes through the scalar epilogue: `offsets` need not be padded).
__attribute__((target("avx2")))
static size_t run_scores_avx2(const int8_t *values, const float *scales, const float *offsets, size_t count,
                              size_t pairs, size_t first, size_t run, const int16_t *q, float queryScale, float *scores,
                              float *blockMax) {
    size_t rows = (first + run) * 16 < count ? run * 16 : count - first * 16;
    __m256 factor = _mm256_set1_ps(queryScale);
    for (size_t b = 0; b * 16 < rows; b++) {
        const int8_t *block = values + (first + b) * pairs * 32;
        __m256i low = _mm256_setzero_si256(), high = _mm256_setzero_si256();
        for (size_t p = 0; p < pairs; p++) {
            int32_t both;
            __builtin_memcpy(&both, q + 2 * p, 4);
            __m256i pair = _mm256_set1_epi32(both);
            __m256i rows0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + p * 32)));
            __m256i rows8 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + p * 32 + 16)));
            low = _mm256_add_epi32(low, _mm256_madd_epi16(rows0, pair));
            high = _mm256_add_epi32(high, _mm256_madd_epi16(rows8, pair));
        }
        size_t row = (first + b) * 16;
        if (b * 16 + 16 > rows) {
            int32_t sums[16];
            _mm256_storeu_si256((__m256i *)sums, low);
            _mm256_storeu_si256((__m256i *)(sums + 8), high);
            float largest = -__builtin_inff();
            for (size_t r = 0; b * 16 + r < rows; r++) {
                float score = finish(sums[r], queryScale, scales[row + r], offsets ? offsets + row + r : 0);
                scores[b * 16 + r] = score;
                if (score > largest) largest = score;
            }
            blockMax[b] = largest;
            break;
        }
        __m256 score0 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(low), factor), _mm256_loadu_ps(scales + row));
        __m256 score8 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(high), factor), _mm256_loadu_ps(scales + row + 8));
        if (offsets) {
            score0 = _mm256_add_ps(_mm256_loadu_ps(offsets + row), score0);
            score8 = _mm256_add_ps(_mm256_loadu_ps(offsets + row + 8), score8);
        }
        _mm256_storeu_ps(scores + b * 16, score0);
        _mm256_storeu_ps(scores + b * 16 + 8, score8);
        __m256 both = _mm256_max_ps(score0, score8);
        __m128 half = _mm_max_ps(_mm256_castps256_ps128(both), _mm256_extractf128_ps(both, 1));
        half = _mm_max_ps(half, _mm_movehl_ps(half, half));
        half = _mm_max_ss(half, _mm_shuffle_ps(half, half, 1));
        blockMax[b] = _mm_cvtss_f32(half);
    }
    return rows;
}

__attribute__((target("avx2")))
static size_t collect_avx2(const float *scores, size_t length, float floor, size_t firstRow, int32_t *rows, float *found) {
    size_t count = 0, i = 0;
    __m256 limit = _mm256_set1_ps(floor);
    for (; i + 8 <= length; i += 8) {
        __m256 values = _mm256_loadu_ps(scores + i);
        unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(values, limit, _CMP_GE_OQ));
        while (mask) {
            unsigned lane = (unsigned)__builtin_ctz(mask);
            rows[count] = (int32_t)(firstRow + i + lane);
            found[count++] = scores[i + lane];
            mask &= mask - 1;
        }
    }
    for (; i < length; i++) {
        if (scores[i] >= floor) {
            rows[count] = (int32_t)(firstRow + i);
            found[count++] = scores[i];
        }
    }
    return count;
}
#endif

// Scores of the rows of `run` whole blocks starting at block `first`.
static size_t score_run(const int8_t *values, const float *scales, const float *offsets, size_t count, size_t pairs,
                        size_t first, size_t run, const int16_t *q, float queryScale, int allowAVX2, float *scores,
                        float *blockMax) {
#if CROSSREC_X86
    if (crossrec_use_avx2(allowAVX2))
        return run_scores_avx2(values, scales, offsets, count, pairs, first, run, q, queryScale, scores, blockMax);
#endif
    return run_scores_generic(values, scales, offsets, count, pairs, first, run, q, queryScale, scores, blockMax);
}

// Quantizes the query to int16 in q (2 * pairs entries, the padding one 0) and returns the
// factor that turns integer sums back into query units.
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

float crossrec_int8_quantize(const float *query, size_t dimension, int16_t *q) {
    return quantize_query(query, dimension, (dimension + 1) / 2, q);
}

void crossrec_int8_scores(const int8_t *values, const float *scales, const float *offsets, size_t count,
                          size_t dimension, const float *query, float *scores, int allowAVX2) {
    size_t pairs = (dimension + 1) / 2;
    size_t blocks = (count + 15) / 16;
    int16_t stackQuery[256];
    int16_t *q = 2 * pairs <= 256 ? stackQuery : malloc(2 * pairs * sizeof(int16_t));
    float queryScale = quantize_query(query, dimension, pairs, q);
    float blockMax[64];
    // Blocks in runs of 64, the unit of `crossrec_int8_run_scores`.
    for (size_t first = 0; first < blocks; first += 64) {
        size_t run = blocks - first < 64 ? blocks - first : 64;
        score_run(values, scales, offsets, count, pairs, first, run, q, queryScale, allowAVX2, scores + first * 16,
                  blockMax);
    }
    if (q != stackQuery) free(q);
}

size_t crossrec_int8_run_scores(const int8_t *values, const float *scales, const float *offsets, size_t count,
                                size_t dimension, const int16_t *q, float queryScale, size_t firstRow, float *scores,
                                float *blockMax, int allowAVX2) {
    size_t blocks = (count + 15) / 16;
    size_t first = firstRow / 16;
    if (first >= blocks) return 0;
    size_t run = blocks - first < 64 ? blocks - first : 64;
    return score_run(values, scales, offsets, count, (dimension + 1) / 2, first, run, q, queryScale, allowAVX2, scores,
                     blockMax);
}

size_t crossrec_collect_at_least(const float *scores, size_t length, float floor, size_t firstRow, int32_t *rows,
                                 float *found) {
#if CROSSREC_X86
    if (crossrec_use_avx2(1)) return collect_avx2(scores, length, floor, firstRow, rows, found);
#endif
    size_t count = 0;
    for (size_t i = 0; i < length; i++) {
        if (scores[i] >= floor) {
            rows[count] = (int32_t)(firstRow + i);
            found[count++] = scores[i];
        }
    }
    return count;
}

size_t crossrec_count_at_least(const int32_t *keys, size_t count, int32_t threshold) {
    size_t total = 0;
    // 32-bit partial sums vectorize 4 (SSE2) or 8 wide; 64-bit ones only 2.
    for (size_t start = 0; start < count; start += 1u << 30) {
        size_t end = count - start < (1u << 30) ? count : start + (1u << 30);
        uint32_t part = 0;
        for (size_t i = start; i < end; i++) part += keys[i] >= threshold;
        total += part;
    }
    return total;
}
