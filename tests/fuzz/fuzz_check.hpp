// Invariant checks inside fuzz targets: a violated property is a finding,
// reported like a crash (abort) so libFuzzer saves the input.
#pragma once
#include <cstdio>
#include <cstdlib>

#define MP_FUZZ_CHECK(cond)                                                                  \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
