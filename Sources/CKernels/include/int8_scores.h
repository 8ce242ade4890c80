#ifndef CROSSREC_INT8_SCORES_H
#define CROSSREC_INT8_SCORES_H

#include <stddef.h>
#include <stdint.h>

/// scores[i] = offsets[i] + scales[i] * sum_j value(i, j) * query[j] for i < count,
/// j < dimension (offsets may be NULL: 0), where the values are in blocks of 16 rows and pairs
/// of dimensions: value(i, j) = values[((i / 16) * pairs + j / 2) * 32 + (i % 16) * 2 + j % 2],
/// pairs = (dimension + 1) / 2. Padding rows and the padding element of an odd dimension must
/// be zero. The query is quantized to int16 (relative error below 2e-5 of its largest
/// element); the sums are exact integers, so every CPU gives the same scores.
/// `allowAVX2` = 0 forces the baseline code (tests compare the two bit for bit).
void crossrec_int8_scores(const int8_t *values, const float *scales, const float *offsets, size_t count,
                          size_t dimension, const float *query, float *scores, int allowAVX2);

/// The query quantized as `crossrec_int8_scores` does it, into q (room for dimension + 1);
/// returns the factor that turns integer sums back into query units.
float crossrec_int8_quantize(const float *query, size_t dimension, int16_t *q);

/// The scores (the same bits as `crossrec_int8_scores`) of one run of up to 1024 rows from
/// `firstRow` (a multiple of 16), with the query quantized once by `crossrec_int8_quantize`,
/// into `scores` (room for 1024), and the largest score of each block of 16 rows into
/// `blockMax` (room for 64; NaN scores may be left out). Returns the rows scored. A top-k scan
/// can take as its floor the m-th largest block maximum: m rows are known to reach it.
size_t crossrec_int8_run_scores(const int8_t *values, const float *scales, const float *offsets, size_t count,
                                size_t dimension, const int16_t *q, float queryScale, size_t firstRow, float *scores,
                                float *blockMax, int allowAVX2);

/// The indices i < length with scores[i] >= floor (NaN never is), as i + firstRow into `rows`
/// with their scores into `found`, in order; returns how many.
size_t crossrec_collect_at_least(const float *scores, size_t length, float floor, size_t firstRow, int32_t *rows,
                                 float *found);

/// How many of `keys` are >= threshold (a branch-free, vectorized pass: Swift compiles the
/// same loop to a branch per key).
size_t crossrec_count_at_least(const int32_t *keys, size_t count, int32_t threshold);

#endif
