// The direct convolution's tile on AVX2 + FMA (driver and layout: conv_direct.c): a 12-row
// weight panel is run as two tiles of up to 6 output channels x 16 columns, 12 ymm accumulators
// each (+ 2 input vectors + 1 broadcast weight = 15 of the 16 registers). Per input channel and
// tap, two masked 8-lane loads of the image (vmaskmovps, which never faults on masked-off lanes;
// one more per vector when the tile straddles two images) and 6 broadcast weights feed 12 FMAs.
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { DMR = PK_DIRECT_MR, HALF = PK_DIRECT_MR / 2, DNR = 16 };

#define TGT __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline)) TGT

/// A tile's masks (all lanes -1 or 0): the stores' lanes (`[segment][vector]`) then, per segment
/// and tap, the lanes each of the two 8-lane vectors loads.
typedef struct {
    __m256i store[2][2];
    __m256i load[];  // [(segment * taps + tap) * 2 + vector]
} tile_masks;

static size_t mask_bytes(int taps) { return sizeof(tile_masks) + (size_t)(2 * taps * 2) * sizeof(__m256i); }

/// Lanes 0-7 (vector 0) or 8-15 (vector 1) of `bits` as an 8-lane mask.
TGT static __m256i lane_mask(uint32_t bits, int vector) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i b = _mm256_set1_epi32((int)((bits >> (8 * vector)) & 0xFF));
    return _mm256_cmpeq_epi32(_mm256_and_si256(b, bit), bit);
}

TGT static void masks_from_lanes(void *dst, const pk_direct_lanes *l, int taps) {
    tile_masks *m = (tile_masks *)dst;
    for (int s = 0; s < 2; ++s) {
        for (int v = 0; v < 2; ++v) {
            _mm256_store_si256(&m->store[s][v], lane_mask(l->seg[s], v));
            for (int t = 0; t < taps; ++t) _mm256_store_si256(&m->load[(s * taps + t) * 2 + v], lane_mask(l->tap[s][t], v));
        }
    }
}

#define ACC_DECL(R) __m256 c##R##0 = _mm256_setzero_ps(), c##R##1 = _mm256_setzero_ps();
#define ACC_STEP(R)                                                   \
    if (M_ > R) {                                                     \
        const __m256 ar = _mm256_broadcast_ss(a + R);                 \
        c##R##0 = _mm256_fmadd_ps(ar, b0, c##R##0);                   \
        if (NV > 1) c##R##1 = _mm256_fmadd_ps(ar, b1, c##R##1);       \
    }
#define ACC_STORE(R)                                                                                   \
    if (M_ > R) {                                                                                      \
        for (int s = 0; s < SEG; ++s) {                                                                \
            float *d = (float *)(t->dst[s] + (uintptr_t)(R * plane_out));                              \
            _mm256_maskstore_ps(d, _mm256_load_si256(&mk->store[s][0]), c##R##0);                     \
            if (NV > 1) _mm256_maskstore_ps(d + 8, _mm256_load_si256(&mk->store[s][1]), c##R##1);     \
        }                                                                                              \
    }
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

/// One tile: M_ (1..6) output channels (rows of the panel from `a`, which steps by the panel's
/// 12 rows), NV (1..2) column vectors, SEG (1..2) images, TAPS (9 for 3x3, or 0 = `taps` at run
/// time); `t->dst` addresses the tile's first row.
INL void tile(const int M_, const int NV, const int SEG, const int TAPS, int taps, long channels,
              const float *a, const intptr_t *off, const pk_direct_addresses *t, const tile_masks *mk,
              intptr_t plane_in, intptr_t plane_out) {
    const int nt = TAPS ? TAPS : taps;
    const __m256i *l0 = mk->load, *l1 = mk->load + 2 * nt;
    FOR_ROWS(ACC_DECL)
    uintptr_t s0 = t->src[0], s1 = SEG > 1 ? t->src[1] : 0;
    for (long c = 0; c < channels; ++c) {
        const __m256i *m0 = l0, *m1 = l1;
        // One tap per iteration: unrolled, clang schedules the taps' mask loads together and
        // spills them (and accumulators) out of the 16 registers.
#if defined(__clang__)
#pragma clang loop unroll(disable)
#endif
        for (int q = 0; q < nt; ++q) {
            const intptr_t o = off[q];
            __m256 b0 = _mm256_maskload_ps((const float *)(s0 + o), _mm256_load_si256(m0 + 2 * q));
            __m256 b1 = NV > 1 ? _mm256_maskload_ps((const float *)(s0 + o + 32), _mm256_load_si256(m0 + 2 * q + 1)) : b0;
            if (SEG > 1) {
                b0 = _mm256_or_ps(b0, _mm256_maskload_ps((const float *)(s1 + o), _mm256_load_si256(m1 + 2 * q)));
                if (NV > 1)
                    b1 = _mm256_or_ps(b1, _mm256_maskload_ps((const float *)(s1 + o + 32), _mm256_load_si256(m1 + 2 * q + 1)));
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
DIRECT_TILE_FNS(1) DIRECT_TILE_FNS(2) DIRECT_TILE_FNS(3) DIRECT_TILE_FNS(4) DIRECT_TILE_FNS(5) DIRECT_TILE_FNS(6)
static const tile_fn g_tiles[HALF][2][2][2] = {DIRECT_TILE_ROW(1) DIRECT_TILE_ROW(2) DIRECT_TILE_ROW(3) DIRECT_TILE_ROW(4) DIRECT_TILE_ROW(5) DIRECT_TILE_ROW(6)};

/// A panel of up to 12 rows as one tile (up to 6 rows) or two of nearly equal height.
static void panel(const void *masks, int rows, int segs, long n, int taps, long channels, const float *a,
                  const intptr_t *off, const pk_direct_addresses *t, intptr_t plane_in, intptr_t plane_out) {
    const tile_masks *mk = (const tile_masks *)masks;
    const int first = rows <= HALF ? rows : (rows + 1) / 2, generic = taps != 9, wide = n > 8;
    g_tiles[first - 1][generic][segs - 1][wide](taps, channels, a, off, t, mk, plane_in, plane_out);
    if (first < rows) {
        pk_direct_addresses lower = *t;
        lower.dst[0] += (uintptr_t)(first * plane_out);
        lower.dst[1] += (uintptr_t)(first * plane_out);
        g_tiles[rows - first - 1][generic][segs - 1][wide](taps, channels, a + first, off, &lower, mk, plane_in, plane_out);
    }
}

static const pk_direct_kernel g_kernel = {.columns = DNR, .mask_bytes = mask_bytes, .masks = masks_from_lanes,
                                          .panel = panel};

const pk_direct_kernel *pk_direct_kernel_avx2(void) { return &g_kernel; }
#endif
