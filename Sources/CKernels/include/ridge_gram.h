#ifndef CROSSREC_RIDGE_GRAM_H
#define CROSSREC_RIDGE_GRAM_H

#include <stddef.h>

/// The normal equations of a least-squares problem, accumulated: g += Xᵀ·X (whole `width` ×
/// `width`, row-major) and rhs += Xᵀ·y, over `rows` rows of X (row-major, `width` each).
/// Every entry is the sum of its products in row order, one IEEE multiply and one add each
/// (no fused multiply-add), so every version gives the same bits as one row at a time.
/// `allowAVX2` = 0 forces the baseline code (tests compare the versions).
void crossrec_gram_accumulate(const double *x, const double *y, size_t rows, size_t width, double *g, double *rhs,
                              int allowAVX2);

#endif
