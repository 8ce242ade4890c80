#ifndef CROSSREC_INT8_SCORES_H
#define CROSSREC_INT8_SCORES_H

#include <stddef.h>
#include <stdint.h>

/// scores[i] = offsets[i] + scales[i] * sum_j value(i, j) * query[j] for i < count,
/// j < dimension (offsets may be NULL: 0), where the values are in blocks of 16 rows,
/// dimension-major inside a block: value(i, j) = values[((i / 16) * dimension + j) * 16 + i % 16].
/// Padding rows must be zero.
void crossrec_int8_scores(const int8_t *values, const float *scales, const float *offsets, size_t count,
                          size_t dimension, const float *query, float *scores);

/// The first index i in [from, count) with scores[i] >= floor (NaN never is), else count.
size_t crossrec_next_at_least(const float *scores, size_t from, size_t count, float floor);

#endif
