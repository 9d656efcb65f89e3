// The part of a weight-gradient kernel that runs one kernel row per pass (AVX2, NEON): the pass
// functions for 1 and 2 input channels, their table and `outputs16`, the loop over all input
// channels. Included by such a kernel after it defines TGT (its target attribute, or nothing),
// WG_CHANNELS (2) and WG_TAPS (9), and `pass(CB, row, g, ldg, xp, plane_p, image_p, wp, h, w,
// images, dwt, ldt)`, the always-inline pass over CB channels and one kernel row.
#ifndef PK_CONV_WEIGHT_GRAD_ROWS_H
#define PK_CONV_WEIGHT_GRAD_ROWS_H

typedef void (*pass_fn)(int, const float *, long, const float *, long, long, long, long, long, long, float *, long);
#define PASS_FN(CB)                                                                                          \
    __attribute__((noinline)) TGT static void pass_##CB(int row, const float *g, long ldg, const float *xp,   \
                                                        long pp, long ip, long wp, long h, long w, long n,    \
                                                        float *d, long ldt) {                                 \
        pass(CB, row, g, ldg, xp, pp, ip, wp, h, w, n, d, ldt);                                               \
    }
PASS_FN(1) PASS_FN(2)
#undef PASS_FN
static const pass_fn g_passes[WG_CHANNELS] = {pass_1, pass_2};

/// All input channels, WG_CHANNELS and one kernel row at a time.
static void outputs16(const float *gyt, long ldg, const float *xp, long plane_p, long image_p, long wp, long h,
                      long w, long images, long channels, float *dwt, long ldt) {
    for (long c0 = 0; c0 < channels; c0 += WG_CHANNELS) {
        const long cb = channels - c0 < WG_CHANNELS ? channels - c0 : WG_CHANNELS;
        for (int row = 0; row < 3; ++row)
            g_passes[cb - 1](row, gyt, ldg, xp + c0 * plane_p, plane_p, image_p, wp, h, w, images,
                             dwt + c0 * WG_TAPS * ldt, ldt);
    }
}

#endif
