// Run-time CPU feature checks shared by the kernels (not part of the module's public headers).
#ifndef CROSSREC_CPU_FEATURES_H
#define CROSSREC_CPU_FEATURES_H

#if defined(__x86_64__)
#include <immintrin.h>
#define CROSSREC_X86 1
#endif

// Whether to take an AVX2 path: the caller allows it (tests force the baseline code with 0)
// and the CPU has it.
static inline int crossrec_use_avx2(int allowAVX2) {
#if CROSSREC_X86
    return allowAVX2 && __builtin_cpu_supports("avx2");
#else
    (void)allowAVX2;
    return 0;
#endif
}

#endif
