#ifndef CROSSREC_SGD_STEPS_H
#define CROSSREC_SGD_STEPS_H

#include <math.h>
#include <stddef.h>

/// The AdaGrad rule of a row: its accumulator grows by the mean squared gradient
/// (`squaredNorm` over `count` elements), and its rate is `lr` over the accumulator's square root.
static inline float crossrec_adagrad_rate(float lr, float *accumulator, float squaredNorm, size_t count) {
    *accumulator += squaredNorm / (float)count;
    return lr / sqrtf(*accumulator + 1e-6f);
}

/// The coupled step of matrix factorization on a user row p and an item row q of `count`
/// elements: p ← p + rateP·(g·q − reg·p), q ← q + rateQ·(g·p_old − reg·q), each element then
/// clamped to ±limit (a NaN stays NaN). `allowAVX2` = 0 forces the baseline code; every version
/// gives the same bits (tests compare them).
void crossrec_coupled_step(float *p, float *q, size_t count, float g, float rateP, float rateQ, float reg,
                           float limit, int allowAVX2);

/// The coupled step with one AdaGrad accumulator per row: first the squared norms of both
/// gradients (g·q − reg·p and g·p − reg·q), each summed in 8 lanes (element i into lane i % 8
/// for the first count − count % 8 elements), the lanes added in order 0…7 to −0, then the
/// remaining elements in order; then `crossrec_adagrad_rate` for p, then for q; then the
/// coupled step with those rates.
void crossrec_adagrad_step(float *p, float *q, size_t count, float g, float lr, float reg, float limit,
                           float *accumulatorP, float *accumulatorQ, int allowAVX2);

/// The dot product of two rows in the order of `VectorMath.dot`: elements in two 8-lane
/// accumulators (16 at a time, the first 8 into the first, the next 8 into the second; a
/// last block of 8 into the first), the two added lane by lane, the 8 lanes summed in order,
/// then the remaining elements one by one. Same bits on every path.
float crossrec_dot(const float *a, const float *b, size_t count, int allowAVX2);

#endif
