#ifndef CROSSREC_INT8_SCORES_H
#define CROSSREC_INT8_SCORES_H

#include <stddef.h>
#include <stdint.h>

/// scores[i] = scales[i] * sum_j values[i * stride + j] * query[j], for i < count, j < stride.
/// `query` holds `stride` floats (zero-padded past the dimension).
void crossrec_int8_scores(const int8_t *values, const float *scales, size_t count, size_t stride,
                          const float *query, float *scores);

#endif
