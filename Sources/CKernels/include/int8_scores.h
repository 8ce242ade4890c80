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

/// The rows of one run of up to 1024 rows, from `firstRow` (a multiple of 16), whose score (the
/// same bits as `crossrec_int8_scores`) is >= floor: their indices and scores in row order into
/// `rows` and `scores` (room for 1024 each); returns how many. A top-k scan quantizes the query
/// once (`crossrec_int8_quantize`) and calls this run after run with the floor it has reached,
/// so that no full array of scores is written.
size_t crossrec_int8_candidates(const int8_t *values, const float *scales, const float *offsets, size_t count,
                                size_t dimension, const int16_t *q, float queryScale, size_t firstRow, float floor,
                                int32_t *rows, float *scores, int allowAVX2);

/// The first index i in [from, count) with scores[i] >= floor (NaN never is), else count.
size_t crossrec_next_at_least(const float *scores, size_t from, size_t count, float floor);

#endif
