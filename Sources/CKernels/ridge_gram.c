// The Gram matrix of the ridge solves of the joint refit (JointRefit.swift): most of a build's
// time at MovieLens scale. Four rows of X at a time, so each entry of g is loaded and stored
// once per four rows; the AVX2 version does four entries per instruction.
//
// The package builds for baseline x86-64 (SSE2); the AVX2 version is chosen at run time. No
// contraction into FMAs: each product is rounded before its add, as in the baseline.
#include "ridge_gram.h"

#include "cpu_features.h"

#pragma clang fp contract(off)

static void rhs_four(const double *r0, const double *r1, const double *r2, const double *r3, const double *y,
                     size_t width, double *rhs) {
    for (size_t i = 0; i < width; i++) {
        double value = rhs[i];
        value += r0[i] * y[0];
        value += r1[i] * y[1];
        value += r2[i] * y[2];
        value += r3[i] * y[3];
        rhs[i] = value;
    }
}

static void gram_generic(const double *x, const double *y, size_t rows, size_t width, double *g, double *rhs,
                         size_t row) {
    for (; row + 4 <= rows; row += 4) {
        const double *r0 = x + row * width, *r1 = r0 + width, *r2 = r1 + width, *r3 = r2 + width;
        for (size_t i = 0; i < width; i++) {
            double a0 = r0[i], a1 = r1[i], a2 = r2[i], a3 = r3[i];
            double *line = g + i * width;
            for (size_t j = 0; j < width; j++) {
                double value = line[j];
                value += a0 * r0[j];
                value += a1 * r1[j];
                value += a2 * r2[j];
                value += a3 * r3[j];
                line[j] = value;
            }
        }
        rhs_four(r0, r1, r2, r3, y + row, width, rhs);
    }
    for (; row < rows; row++) {
        const double *r = x + row * width;
        for (size_t i = 0; i < width; i++) {
            double a = r[i];
            double *line = g + i * width;
            for (size_t j = 0; j < width; j++) line[j] += a * r[j];
            rhs[i] += a * y[row];
        }
    }
}

#if CROSSREC_X86
__attribute__((target("avx2"))) static size_t gram_avx2(const double *x, const double *y, size_t rows,
                                                         size_t width, double *g, double *rhs) {
    size_t row = 0;
    size_t vectorWidth = width - width % 4;
    for (; row + 4 <= rows; row += 4) {
        const double *r0 = x + row * width, *r1 = r0 + width, *r2 = r1 + width, *r3 = r2 + width;
        for (size_t i = 0; i < width; i++) {
            __m256d a0 = _mm256_set1_pd(r0[i]), a1 = _mm256_set1_pd(r1[i]);
            __m256d a2 = _mm256_set1_pd(r2[i]), a3 = _mm256_set1_pd(r3[i]);
            double *line = g + i * width;
            size_t j = 0;
            for (; j < vectorWidth; j += 4) {
                __m256d value = _mm256_loadu_pd(line + j);
                value = _mm256_add_pd(value, _mm256_mul_pd(a0, _mm256_loadu_pd(r0 + j)));
                value = _mm256_add_pd(value, _mm256_mul_pd(a1, _mm256_loadu_pd(r1 + j)));
                value = _mm256_add_pd(value, _mm256_mul_pd(a2, _mm256_loadu_pd(r2 + j)));
                value = _mm256_add_pd(value, _mm256_mul_pd(a3, _mm256_loadu_pd(r3 + j)));
                _mm256_storeu_pd(line + j, value);
            }
            for (; j < width; j++) {
                double value = line[j];
                value += r0[i] * r0[j];
                value += r1[i] * r1[j];
                value += r2[i] * r2[j];
                value += r3[i] * r3[j];
                line[j] = value;
            }
        }
        rhs_four(r0, r1, r2, r3, y + row, width, rhs);
    }
    return row;
}
#endif

void crossrec_gram_accumulate(const double *x, const double *y, size_t rows, size_t width, double *g, double *rhs,
                              int allowAVX2) {
    size_t row = 0;
#if CROSSREC_X86
    if (crossrec_use_avx2(allowAVX2)) row = gram_avx2(x, y, rows, width, g, rhs);
#endif
    gram_generic(x, y, rows, width, g, rhs, row);
}
