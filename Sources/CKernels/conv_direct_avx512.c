// The direct convolution's tile on AVX-512 (driver and layout: conv_direct.c): 12 output
// channels x 32 columns, 24 zmm accumulators. Per input channel and tap, two masked 16-lane loads
// of the image (one more per vector when the tile straddles two images) and 12 broadcast
// weights feed 24 FMAs.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { DMR = PK_DIRECT_MR, DNR = 32 };

#define TGT __attribute__((target("avx512f")))
#define INL static inline __attribute__((always_inline)) TGT

/// A tile's masks: the stores' lanes (`[segment][vector]`) then, per segment and tap, the lanes
/// each of the two 16-lane vectors loads.
typedef struct {
    __mmask16 store[2][2];
    __mmask16 load[];  // [(segment * taps + tap) * 2 + vector]
} tile_masks;

static size_t mask_bytes(int taps) { return sizeof(tile_masks) + (size_t)(2 * taps * 2) * sizeof(__mmask16); }

static void masks_from_lanes(void *dst, const pk_direct_lanes *l, int taps) {
    tile_masks *m = (tile_masks *)dst;
    for (int s = 0; s < 2; ++s) {
        m->store[s][0] = (__mmask16)(l->seg[s] & 0xFFFF);
        m->store[s][1] = (__mmask16)(l->seg[s] >> 16);
        for (int t = 0; t < taps; ++t) {
            m->load[(s * taps + t) * 2] = (__mmask16)(l->tap[s][t] & 0xFFFF);
            m->load[(s * taps + t) * 2 + 1] = (__mmask16)(l->tap[s][t] >> 16);
        }
    }
}

#define ACC_DECL(R) __m512 c##R##0 = _mm512_setzero_ps(), c##R##1 = _mm512_setzero_ps();
#define ACC_STEP(R)                                                   \
    if (M_ > R) {                                                     \
        const __m512 ar = _mm512_set1_ps(a[R]);                       \
        c##R##0 = _mm512_fmadd_ps(ar, b0, c##R##0);                   \
        if (NZ > 1) c##R##1 = _mm512_fmadd_ps(ar, b1, c##R##1);       \
    }
#define ACC_STORE(R)                                                                         \
    if (M_ > R) {                                                                            \
        for (int s = 0; s < SEG; ++s) {                                                      \
            const uintptr_t d = t->dst[s] + (uintptr_t)(R * plane_out);                      \
            _mm512_mask_storeu_ps((void *)d, mk->store[s][0], c##R##0);                      \
            if (NZ > 1) _mm512_mask_storeu_ps((void *)(d + 64), mk->store[s][1], c##R##1);   \
        }                                                                                    \
    }
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/// One tile: M_ (1..12) output channels, NZ (1..2) column vectors, SEG (1..2) images, TAPS (9
/// for 3x3, or 0 = `taps` at run time).
INL void tile(const int M_, const int NZ, const int SEG, const int TAPS, int taps, long channels,
              const float *a, const intptr_t *off, const pk_direct_addresses *t, const tile_masks *mk,
              intptr_t plane_in, intptr_t plane_out) {
    const int nt = TAPS ? TAPS : taps;
    const __mmask16 *l0 = mk->load, *l1 = mk->load + 2 * nt;
    FOR_ROWS(ACC_DECL)
    uintptr_t s0 = t->src[0], s1 = SEG > 1 ? t->src[1] : 0;
    for (long c = 0; c < channels; ++c) {
        for (int q = 0; q < nt; ++q) {
            const intptr_t o = off[q];
            __m512 b0 = _mm512_maskz_loadu_ps(l0[2 * q], (const void *)(s0 + o));
            __m512 b1 = NZ > 1 ? _mm512_maskz_loadu_ps(l0[2 * q + 1], (const void *)(s0 + o + 64)) : b0;
            if (SEG > 1) {
                b0 = _mm512_mask_loadu_ps(b0, l1[2 * q], (const void *)(s1 + o));
                if (NZ > 1) b1 = _mm512_mask_loadu_ps(b1, l1[2 * q + 1], (const void *)(s1 + o + 64));
            }
            FOR_ROWS(ACC_STEP)
            a += DMR;
        }
        s0 += plane_in;
        if (SEG > 1) s1 += plane_in;
    }
    FOR_ROWS(ACC_STORE)
}

#include "conv_direct_tiles_x86.h"
DIRECT_TILE_FNS(1) DIRECT_TILE_FNS(2) DIRECT_TILE_FNS(3) DIRECT_TILE_FNS(4) DIRECT_TILE_FNS(5) DIRECT_TILE_FNS(6) DIRECT_TILE_FNS(7) DIRECT_TILE_FNS(8) DIRECT_TILE_FNS(9) DIRECT_TILE_FNS(10) DIRECT_TILE_FNS(11) DIRECT_TILE_FNS(12)
static const tile_fn g_tiles[DMR][2][2][2] = {DIRECT_TILE_ROW(1) DIRECT_TILE_ROW(2) DIRECT_TILE_ROW(3) DIRECT_TILE_ROW(4) DIRECT_TILE_ROW(5) DIRECT_TILE_ROW(6) DIRECT_TILE_ROW(7) DIRECT_TILE_ROW(8) DIRECT_TILE_ROW(9) DIRECT_TILE_ROW(10) DIRECT_TILE_ROW(11) DIRECT_TILE_ROW(12)};

static void panel(const void *masks, int rows, int segs, long n, int taps, long channels, const float *a,
                  const intptr_t *off, const pk_direct_addresses *t, intptr_t plane_in, intptr_t plane_out) {
    g_tiles[rows - 1][taps != 9][segs - 1][n > 16](taps, channels, a, off, t, (const tile_masks *)masks, plane_in,
                                                   plane_out);
}

static const pk_direct_kernel g_kernel = {.columns = DNR, .mask_bytes = mask_bytes, .masks = masks_from_lanes,
                                          .panel = panel};

const pk_direct_kernel *pk_direct_kernel_avx512(void) { return &g_kernel; }
#endif
