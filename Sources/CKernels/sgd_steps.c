// The learner's vector steps in C. Swift compiles the lane-wise clamp of its SIMD types to
// compare-and-blend sequences (four instructions a side, where MINPS/MAXPS do one), and
// this step was 30 % of the instructions of an event (callgrind, MovieLens-1M, d = 32).
//
// Every version does the same IEEE operations in the same order and none is contracted into
// an FMA, so the AVX2 version and the baseline one give the same bits, and so did the Swift
// code they replace: a replay reproduces its RMSE to the last digit.
#include "sgd_steps.h"

#include "cpu_features.h"

#pragma clang fp contract(off)

// v > limit → limit, then v < −limit → −limit; a NaN stays (both comparisons are false).
static inline float clamp_element(float v, float limit) {
    v = v > limit ? limit : v;
    return v < -limit ? -limit : v;
}

static void coupled_generic(float *p, float *q, size_t count, float g, float rateP, float rateQ, float reg,
                            float limit) {
    for (size_t i = 0; i < count; i++) {
        float pv = p[i], qv = q[i];
        p[i] = clamp_element(pv + rateP * (g * qv - reg * pv), limit);
        q[i] = clamp_element(qv + rateQ * (g * pv - reg * qv), limit);
    }
}

// The end of both norm passes: the 8 lanes added in order to −0, then the elements from
// `blocked` on, one by one (the order `crossrec_adagrad_step` documents).
static void finish_norms(const float *laneP, const float *laneQ, const float *p, const float *q, size_t blocked,
                         size_t count, float g, float reg, float *sumP, float *sumQ) {
    float sp = -0.0f, sq = -0.0f;
    for (size_t l = 0; l < 8; l++) {
        sp += laneP[l];
        sq += laneQ[l];
    }
    for (size_t i = blocked; i < count; i++) {
        float gp = g * q[i] - reg * p[i];
        float gq = g * p[i] - reg * q[i];
        sp += gp * gp;
        sq += gq * gq;
    }
    *sumP = sp;
    *sumQ = sq;
}

static void norms_generic(const float *p, const float *q, size_t count, float g, float reg, float *sumP, float *sumQ) {
    float laneP[8] = {0}, laneQ[8] = {0};
    size_t blocked = count - count % 8;
    for (size_t i = 0; i < blocked; i += 8) {
        for (size_t l = 0; l < 8; l++) {
            float gp = g * q[i + l] - reg * p[i + l];
            float gq = g * p[i + l] - reg * q[i + l];
            laneP[l] += gp * gp;
            laneQ[l] += gq * gq;
        }
    }
    finish_norms(laneP, laneQ, p, q, blocked, count, g, reg, sumP, sumQ);
}

static float finish_dot(const float *lanes, const float *a, const float *b, size_t blocked, size_t count) {
    float sum = lanes[0];
    for (size_t l = 1; l < 8; l++) sum += lanes[l];
    for (size_t i = blocked; i < count; i++) sum += a[i] * b[i];
    return sum;
}

static float dot_generic(const float *a, const float *b, size_t count) {
    float acc0[8] = {0}, acc1[8] = {0};
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        for (size_t l = 0; l < 8; l++) {
            acc0[l] += a[i + l] * b[i + l];
            acc1[l] += a[i + 8 + l] * b[i + 8 + l];
        }
    }
    if (i + 8 <= count) {
        for (size_t l = 0; l < 8; l++) acc0[l] += a[i + l] * b[i + l];
        i += 8;
    }
    for (size_t l = 0; l < 8; l++) acc0[l] += acc1[l];
    return finish_dot(acc0, a, b, i, count);
}

#if CROSSREC_X86
__attribute__((target("avx2")))
static float dot_avx2(const float *a, const float *b, size_t count) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
    }
    if (i + 8 <= count) {
        acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        i += 8;
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(acc0, acc1));
    return finish_dot(lanes, a, b, i, count);
}

// MIN(limit, v) and MAX(−limit, v) in this operand order return v when v is NaN, as
// `clamp_element` does.
__attribute__((target("avx2")))
static inline __m256 clamp_avx2(__m256 v, __m256 high, __m256 low) {
    return _mm256_max_ps(low, _mm256_min_ps(high, v));
}

__attribute__((target("avx2")))
static void coupled_avx2(float *p, float *q, size_t count, float g, float rateP, float rateQ, float reg, float limit) {
    size_t blocked = count - count % 8;
    __m256 vg = _mm256_set1_ps(g), vreg = _mm256_set1_ps(reg);
    __m256 vrateP = _mm256_set1_ps(rateP), vrateQ = _mm256_set1_ps(rateQ);
    __m256 high = _mm256_set1_ps(limit), low = _mm256_set1_ps(-limit);
    for (size_t i = 0; i < blocked; i += 8) {
        __m256 pv = _mm256_loadu_ps(p + i), qv = _mm256_loadu_ps(q + i);
        __m256 gp = _mm256_sub_ps(_mm256_mul_ps(vg, qv), _mm256_mul_ps(vreg, pv));
        __m256 gq = _mm256_sub_ps(_mm256_mul_ps(vg, pv), _mm256_mul_ps(vreg, qv));
        _mm256_storeu_ps(p + i, clamp_avx2(_mm256_add_ps(pv, _mm256_mul_ps(vrateP, gp)), high, low));
        _mm256_storeu_ps(q + i, clamp_avx2(_mm256_add_ps(qv, _mm256_mul_ps(vrateQ, gq)), high, low));
    }
    coupled_generic(p + blocked, q + blocked, count - blocked, g, rateP, rateQ, reg, limit);
}

__attribute__((target("avx2")))
static void norms_avx2(const float *p, const float *q, size_t count, float g, float reg, float *sumP, float *sumQ) {
    size_t blocked = count - count % 8;
    __m256 vg = _mm256_set1_ps(g), vreg = _mm256_set1_ps(reg);
    __m256 laneP = _mm256_setzero_ps(), laneQ = _mm256_setzero_ps();
    for (size_t i = 0; i < blocked; i += 8) {
        __m256 pv = _mm256_loadu_ps(p + i), qv = _mm256_loadu_ps(q + i);
        __m256 gp = _mm256_sub_ps(_mm256_mul_ps(vg, qv), _mm256_mul_ps(vreg, pv));
        __m256 gq = _mm256_sub_ps(_mm256_mul_ps(vg, pv), _mm256_mul_ps(vreg, qv));
        laneP = _mm256_add_ps(laneP, _mm256_mul_ps(gp, gp));
        laneQ = _mm256_add_ps(laneQ, _mm256_mul_ps(gq, gq));
    }
    float lanesP[8], lanesQ[8];
    _mm256_storeu_ps(lanesP, laneP);
    _mm256_storeu_ps(lanesQ, laneQ);
    finish_norms(lanesP, lanesQ, p, q, blocked, count, g, reg, sumP, sumQ);
}
#endif

float crossrec_dot(const float *a, const float *b, size_t count, int allowAVX2) {
#if CROSSREC_X86
    if (crossrec_use_avx2(allowAVX2)) return dot_avx2(a, b, count);
#endif
    return dot_generic(a, b, count);
}

void crossrec_coupled_step(float *p, float *q, size_t count, float g, float rateP, float rateQ, float reg,
                           float limit, int allowAVX2) {
#if CROSSREC_X86
    if (crossrec_use_avx2(allowAVX2)) {
        coupled_avx2(p, q, count, g, rateP, rateQ, reg, limit);
        return;
    }
#endif
    coupled_generic(p, q, count, g, rateP, rateQ, reg, limit);
}

void crossrec_adagrad_step(float *p, float *q, size_t count, float g, float lr, float reg, float limit,
                           float *accumulatorP, float *accumulatorQ, int allowAVX2) {
    float sumP, sumQ;
    int avx2 = crossrec_use_avx2(allowAVX2);
#if CROSSREC_X86
    if (avx2)
        norms_avx2(p, q, count, g, reg, &sumP, &sumQ);
    else
#endif
        norms_generic(p, q, count, g, reg, &sumP, &sumQ);
    float rateP = crossrec_adagrad_rate(lr, accumulatorP, sumP, count);
    float rateQ = crossrec_adagrad_rate(lr, accumulatorQ, sumQ, count);
    crossrec_coupled_step(p, q, count, g, rateP, rateQ, reg, limit, avx2);
}
