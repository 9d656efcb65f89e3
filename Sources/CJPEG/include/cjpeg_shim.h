#ifndef PRACTISE_CJPEG_SHIM_H
#define PRACTISE_CJPEG_SHIM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Decodes a JPEG held in memory to 8-bit RGB, HWC, row-major.
///
/// Grey, YCbCr, RGB, CMYK and YCCK inputs all come out as RGB (CMYK/YCCK
/// converted the way Pillow's `convert("RGB")` does, Adobe-inverted CMYK).
/// libjpeg errors never abort: `error_exit` longjmps back inside the shim.
/// A truncated file (libjpeg's "premature end of data" warning) is an error.
///
/// Images of more than `max_pixels` pixels (width × height) are refused from the header,
/// before any pixel memory is allocated.
///
/// On success returns 0 and sets `*pixels` to a malloc'ed buffer of
/// `(*width) * (*height) * 3` bytes that the caller frees with `cjpeg_free`.
/// On failure returns non-zero and writes a NUL-terminated message into
/// `message` (at most `message_capacity` bytes, may be truncated).
int cjpeg_decode_rgb(const uint8_t *data, size_t size, size_t max_pixels,
                     uint8_t **pixels, int *width, int *height,
                     char *message, size_t message_capacity);

/// Frees a buffer returned by `cjpeg_decode_rgb`.
void cjpeg_free(void *pointer);

#ifdef __cplusplus
}
#endif
#endif
