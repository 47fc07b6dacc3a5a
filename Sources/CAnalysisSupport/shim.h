#ifndef SKM_ANALYSIS_SUPPORT_SHIM_H
#define SKM_ANALYSIS_SUPPORT_SHIM_H
#include <stddef.h>
// zlib's gz* functions read gzip files and plain files alike, which is what the request-log reader wants.
#include <zlib.h>

// glibc declares memmem only under _GNU_SOURCE, which Swift's Glibc module is not built with; the reader's search
// for a byte pattern in a line wants it (it is SIMD-accelerated).
extern void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
#endif
