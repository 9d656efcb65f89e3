#ifndef PRACTISE_CPNG_SHIM_H
#define PRACTISE_CPNG_SHIM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Decodes a PNG held in memory to 8-bit RGB, HWC, row-major.
///
/// Palette, grey (1/2/4/8/16-bit), grey+alpha, RGB, RGBA and 16-bit inputs
/// all come out as 8-bit RGB the way Pillow's `convert("RGB")` does: the
/// alpha channel and tRNS transparency are dropped (not composited), 16-bit
/// samples keep their high byte, no gamma correction is applied. Interlaced
/// files are supported. libpng errors never abort the process.
///
/// Images of more than `max_pixels` pixels (width × height) are refused from the header,
/// before any pixel memory is allocated.
///
/// On success returns 0 and sets `*pixels` to a malloc'ed buffer of
/// `(*width) * (*height) * 3` bytes that the caller frees with `cpng_free`.
/// On failure returns non-zero and writes a NUL-terminated message into
/// `message` (at most `message_capacity` bytes).
int cpng_decode_rgb(const uint8_t *data, size_t size, size_t max_pixels,
                    uint8_t **pixels, int *width, int *height,
                    char *message, size_t message_capacity);

/// Encodes an 8-bit grey (`channels` 1) or RGB (3) image, HWC row-major, as a PNG in memory.
///
/// On success returns 0 and sets `*out` to a malloc'ed buffer of `*size` bytes that the caller
/// frees with `cpng_free`. On failure returns non-zero with a message.
int cpng_encode(const uint8_t *pixels, int width, int height, int channels,
                uint8_t **out, size_t *size, char *message, size_t message_capacity);

/// Frees a buffer returned by `cpng_decode_rgb` or `cpng_encode`.
void cpng_free(void *pointer);

#ifdef __cplusplus
}
#endif
#endif
