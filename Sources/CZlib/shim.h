#ifndef PRACTISE_CZLIB_SHIM_H
#define PRACTISE_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 is a macro, which Swift cannot call: wrap it.
/// windowBits 15 + 32 = zlib or gzip header, detected automatically.
static inline int czlib_inflate_init_auto(z_streamp stream) {
    return inflateInit2(stream, 15 + 32);
}
#endif
