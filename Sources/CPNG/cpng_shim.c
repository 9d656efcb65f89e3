// libpng decoding shim: keeps setjmp/longjmp inside C so that a corrupt
// file returns an error code instead of terminating the process.
#include "cpng_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct cpng_context {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char message[256];
};

static void cpng_read(png_structp png, png_bytep out, png_size_t count) {
    struct cpng_context *ctx = (struct cpng_context *)png_get_io_ptr(png);
    if (count > ctx->size - ctx->offset) {
        png_error(png, "truncated PNG data (premature end of file)");
    }
    memcpy(out, ctx->data + ctx->offset, count);
    ctx->offset += count;
}

static void cpng_error(png_structp png, png_const_charp msg) {
    struct cpng_context *ctx = (struct cpng_context *)png_get_error_ptr(png);
    if (ctx->message[0] == 0) snprintf(ctx->message, sizeof(ctx->message), "%s", msg);
    png_longjmp(png, 1);
}

static void cpng_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; // warnings are not fatal and never printed
}

static void cpng_set_message(char *dst, size_t cap, const char *src) {
    if (dst == NULL || cap == 0) return;
    snprintf(dst, cap, "%s", src);
}

int cpng_decode_rgb(const uint8_t *data, size_t size, size_t max_pixels,
                    uint8_t **pixels, int *width, int *height,
                    char *message, size_t message_capacity) {
    struct cpng_context ctx;
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile out = NULL;
    png_bytep *volatile rows = NULL;

    *pixels = NULL;
    *width = 0;
    *height = 0;
    if (message && message_capacity) message[0] = 0;
    if (data == NULL || size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        cpng_set_message(message, message_capacity, "not a PNG file (bad signature)");
        return 1;
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.data = data;
    ctx.size = size;

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, cpng_error, cpng_warning);
    if (png == NULL) {
        cpng_set_message(message, message_capacity, "out of memory");
        return 2;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        cpng_set_message(message, message_capacity, "out of memory");
        return 2;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(out);
        free(rows);
        cpng_set_message(message, message_capacity,
                         ctx.message[0] ? ctx.message : "corrupt PNG data");
        return 3;
    }
    png_set_read_fn(png, &ctx, cpng_read);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, NULL, NULL, NULL);
    if (w == 0 || h == 0 || (size_t)w * (size_t)h > max_pixels) {
        char reason[128];
        snprintf(reason, sizeof(reason), "PNG dimensions %ux%u are zero or more than %zu pixels",
                 (unsigned)w, (unsigned)h, max_pixels);
        png_error(png, reason);
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);
    // Palette expansion also turns tRNS into an alpha channel: strip it too.
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_set_strip_alpha(png);
    }
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
        png_set_gray_to_rgb(png);
    }
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_channels(png, info) != 3) {
        png_error(png, "unsupported PNG pixel layout");
    }

    out = (uint8_t *)malloc((size_t)w * h * 3);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
    if (out == NULL || rows == NULL) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = out + (size_t)y * w * 3;
    png_read_image(png, rows);
    // png_read_end is skipped on purpose: chunks after the image data
    // (or a missing IEND) do not change the pixels.
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *pixels = out;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

void cpng_free(void *pointer) { free(pointer); }

int cpng_encode(const uint8_t *pixels, int width, int height, int channels,
                uint8_t **out, size_t *size, char *message, size_t message_capacity) {
    *out = NULL;
    *size = 0;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
        snprintf(message, message_capacity, "cannot encode a %dx%d image of %d channels", width, height, channels);
        return 1;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    png_alloc_size_t bytes = 0;
    if (!png_image_write_to_memory(&image, NULL, &bytes, 0, pixels, 0, NULL)) {
        snprintf(message, message_capacity, "%s", image.message);
        return 1;
    }
    uint8_t *buffer = (uint8_t *)malloc(bytes);
    if (!buffer) {
        snprintf(message, message_capacity, "out of memory");
        return 1;
    }
    if (!png_image_write_to_memory(&image, buffer, &bytes, 0, pixels, 0, NULL)) {
        snprintf(message, message_capacity, "%s", image.message);
        free(buffer);
        return 1;
    }
    *out = buffer;
    *size = (size_t)bytes;
    return 0;
}
