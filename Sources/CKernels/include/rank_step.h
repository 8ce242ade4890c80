#ifndef CROSSREC_RANK_STEP_H
#define CROSSREC_RANK_STEP_H

#include <stddef.h>

/// One sampled-softmax step of the ranking head (RecModel/RankingHead.swift).
///
/// `rows[0]` is the positive item's ranking record and `rows[1..count)` the negatives': each
/// `k` floats of vector w, then its bias c, then its AdaGrad accumulator. p is the user's
/// shared vector (k floats). With s_c = c_c + p·w_c and π the softmax of s, the gradient of
/// log π_0 is g_c = [c = 0] − π_c. p moves first by userRate·Σ g_c·w_c (old rows), then each
/// row: w_c += rate·(g_c·p − reg·w_c) at its AdaGrad rate, c_c += biasRate·g_c at a constant
/// one; every element is clamped to ±limit. `scratch` holds `count` floats. No FMA and fixed
/// summation orders (dots through `crossrec_dot`): the AVX2 copy (`allowAVX2` and the CPU has
/// it) and the baseline one give the same bits (tests compare them).
void crossrec_rank_step(float *p, float *const *rows, size_t count, size_t k, float lr, float reg, float biasRate,
                        float userRate, float limit, float *scratch, int allowAVX2);

#endif
