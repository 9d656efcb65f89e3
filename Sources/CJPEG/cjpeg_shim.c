// libjpeg-turbo decoding shim: keeps setjmp/longjmp inside C so that a
// corrupt file returns an error code instead of terminating the process.
#include "cjpeg_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>


struct cjpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int truncated;
    char message[JMSG_LENGTH_MAX];
};

static void cjpeg_error_exit(j_common_ptr cinfo) {
    struct cjpeg_error *err = (struct cjpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void cjpeg_emit_message(j_common_ptr cinfo, int level) {
    struct cjpeg_error *err = (struct cjpeg_error *)cinfo->err;
    if (level < 0) {
        // Warnings: libjpeg pads a truncated stream with grey and carries
        // on; Pillow refuses such a file, and so do we.
        if (cinfo->err->msg_code == JWRN_JPEG_EOF && !err->truncated) {
            err->truncated = 1;
            (*cinfo->err->format_message)(cinfo, err->message);
        }
        cinfo->err->num_warnings++;
    }
    // Trace messages (level >= 0) are ignored.
}

static void cjpeg_output_message(j_common_ptr cinfo) {
    (void)cinfo; // never print to stderr
}

static void cjpeg_set_message(char *dst, size_t cap, const char *src) {
    if (dst == NULL || cap == 0) return;
    snprintf(dst, cap, "%s", src);
}

// Pillow's CMYK -> RGB for Adobe-inverted CMYK ("CMYK;I" raw mode):
// in = 255 - raw; nc = 255 - in[K]; out = nc - in*nc/255 (MULDIV255 rounding).
static inline uint8_t cjpeg_muldiv255(unsigned a, unsigned b) {
    unsigned t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static void cjpeg_cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int width) {
    for (int x = 0; x < width; x++) {
        unsigned nc = cmyk[4 * x + 3];          // 255 - (255 - rawK)
        for (int c = 0; c < 3; c++) {
            unsigned in = 255u - cmyk[4 * x + c];
            int v = (int)nc - (int)cjpeg_muldiv255(in, nc);
            rgb[3 * x + c] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
    }
}

int cjpeg_decode_rgb(const uint8_t *data, size_t size, size_t max_pixels,
                     uint8_t **pixels, int *width, int *height,
                     char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    struct cjpeg_error jerr;
    // Modified after setjmp: must be volatile to survive the longjmp.
    uint8_t *volatile out = NULL;
    uint8_t *volatile row = NULL;
    volatile int created = 0;

    *pixels = NULL;
    *width = 0;
    *height = 0;
    if (message && message_capacity) message[0] = 0;
    if (data == NULL || size < 4) {
        cjpeg_set_message(message, message_capacity, "file too short to be a JPEG");
        return 1;
    }

    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = cjpeg_error_exit;
    jerr.pub.emit_message = cjpeg_emit_message;
    jerr.pub.output_message = cjpeg_output_message;
    jerr.truncated = 0;
    jerr.message[0] = 0;

    if (setjmp(jerr.jump)) {
        if (created) jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        cjpeg_set_message(message, message_capacity, jerr.message);
        return 2;
    }

    jpeg_create_decompress(&cinfo);
    created = 1;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    // Refuse absurd headers before jpeg_start_decompress, which for a progressive file
    // buffers coefficients for the whole image.
    if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
        (size_t)cinfo.image_width * cinfo.image_height > max_pixels) {
        snprintf(jerr.message, sizeof(jerr.message), "JPEG dimensions %ux%u are zero or more than %zu pixels",
                 (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        cjpeg_set_message(message, message_capacity, jerr.message);
        return 3;
    }
    // libjpeg's own working memory (coefficient buffers of progressive files, about 2 bytes
    // per sample) stays within a bound of the same order as the output.
    cinfo.mem->max_memory_to_use = (long)(max_pixels * 8 + (64 << 20));

    int cmyk = (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK);
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);

    const size_t w = cinfo.output_width, h = cinfo.output_height;
    if (w == 0 || h == 0 || w * h > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        cjpeg_set_message(message, message_capacity, "JPEG dimensions are zero or too large");
        return 3;
    }
    out = (uint8_t *)malloc(w * h * 3);
    if (cmyk) row = (uint8_t *)malloc(w * 4);
    if (out == NULL || (cmyk && row == NULL)) {
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        cjpeg_set_message(message, message_capacity, "out of memory");
        return 4;
    }

    while (cinfo.output_scanline < cinfo.output_height && !jerr.truncated) {
        size_t y = cinfo.output_scanline;
        if (cmyk) {
            JSAMPROW r = row;
            jpeg_read_scanlines(&cinfo, &r, 1);
            cjpeg_cmyk_row_to_rgb(row, out + y * w * 3, (int)w);
        } else {
            JSAMPROW rows[16];
            size_t n = cinfo.output_height - y;
            if (n > 16) n = 16;
            for (size_t i = 0; i < n; i++) rows[i] = out + (y + i) * w * 3;
            jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)n);
        }
    }
    if (jerr.truncated) {
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        cjpeg_set_message(message, message_capacity, "truncated JPEG data (premature end of file)");
        return 5;
    }
    // Anything after the last scanline (trailing garbage) is not an error.
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *pixels = out;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

void cjpeg_free(void *pointer) { free(pointer); }
