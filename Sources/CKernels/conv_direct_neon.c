// The direct convolution's tile on ARM NEON (aarch64; driver and layout: conv_direct.c): a
// 12-row weight panel is run as two tiles of up to 6 output channels x 16 columns, 24 q-register
// accumulators each (+ 4 input vectors + 2 weight vectors = 30 of the 32 registers); the weights
// of a tap are loaded as vectors and used by lane (fmla by element). NEON has no masked loads:
// a vector whose 4 lanes all read pixels inside the image is one plain load, any other is
// assembled lane by lane (only its valid lanes are read, so nothing outside the image is).
#include "CKernels.h"
#include "internal.h"

#include <stdint.h>

#if defined(__aarch64__)
#include <arm_neon.h>

enum { DMR = PK_DIRECT_MR, HALF = PK_DIRECT_MR / 2, DNR = 16 };

#define INL static inline __attribute__((always_inline))

/// A tile's masks are its lane bits: seg[2] then tap[segment * taps + tap].
static size_t mask_bytes(int taps) { return (size_t)(2 + 2 * taps) * sizeof(uint32_t); }

static void masks_from_lanes(void *dst, const pk_direct_lanes *l, int taps) {
    uint32_t *m = (uint32_t *)dst;
    m[0] = l->seg[0];
    m[1] = l->seg[1];
    for (int s = 0; s < 2; ++s)
        for (int t = 0; t < taps; ++t) m[2 + s * taps + t] = l->tap[s][t];
}

/// Lanes of 4 floats: p0[l] where bit l of b0 is set, else p1[l] where bit l of b1 is set, else 0.
INL float32x4_t load_lanes(const float *p0, uint32_t b0, const float *p1, uint32_t b1) {
    if (b0 == 0xF) return vld1q_f32(p0);
    if (b1 == 0xF) return vld1q_f32(p1);
    float t[4];
    for (int l = 0; l < 4; ++l) t[l] = (b0 >> l & 1) ? p0[l] : (b1 >> l & 1) ? p1[l] : 0.0f;
    return vld1q_f32(t);
}

/// Stores the lanes of `v` whose bit in `bits` is set.
INL void store_lanes(float *p, float32x4_t v, uint32_t bits) {
    if (bits == 0xF) { vst1q_f32(p, v); return; }
    float t[4];
    vst1q_f32(t, v);
    for (int l = 0; l < 4; ++l)
        if (bits >> l & 1) p[l] = t[l];
}

#define ACC_DECL(R) float32x4_t c##R##0 = vdupq_n_f32(0.0f), c##R##1 = c##R##0, c##R##2 = c##R##0, c##R##3 = c##R##0;
#define ACC_STEP(R, A, L)                                                \
    if (M_ > R) {                                                        \
        c##R##0 = vfmaq_laneq_f32(c##R##0, b0, A, L);                     \
        if (NV > 1) c##R##1 = vfmaq_laneq_f32(c##R##1, b1, A, L);         \
        if (NV > 2) c##R##2 = vfmaq_laneq_f32(c##R##2, b2, A, L);         \
        if (NV > 3) c##R##3 = vfmaq_laneq_f32(c##R##3, b3, A, L);         \
    }
#define ACC_STORE(R)                                                                      \
    if (M_ > R) {                                                                         \
        for (int s = 0; s < SEG; ++s) {                                                   \
            float *d = (float *)(t->dst[s] + (uintptr_t)(R * plane_out));                 \
            const uint32_t sb = mk[s];                                                    \
            store_lanes(d, c##R##0, sb & 0xF);                                            \
            if (NV > 1) store_lanes(d + 4, c##R##1, sb >> 4 & 0xF);                       \
            if (NV > 2) store_lanes(d + 8, c##R##2, sb >> 8 & 0xF);                       \
            if (NV > 3) store_lanes(d + 12, c##R##3, sb >> 12 & 0xF);                     \
        }                                                                                 \
    }
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

/// One tile: M_ (1..6) output channels (rows of the panel from `a`, which steps by the panel's
/// 12 rows), NV (1..4) column vectors, SEG (1..2) images, `taps` taps.
INL void tile(const int M_, const int NV, const int SEG, int taps, long channels, const float *a,
              const intptr_t *off, const pk_direct_addresses *t, const uint32_t *mk, intptr_t plane_in,
              intptr_t plane_out) {
    const uint32_t *l0 = mk + 2, *l1 = mk + 2 + taps;
    FOR_ROWS(ACC_DECL)
    uintptr_t s0 = t->src[0], s1 = SEG > 1 ? t->src[1] : t->src[0];
    for (long c = 0; c < channels; ++c) {
        for (int q = 0; q < taps; ++q) {
            const float *p0 = (const float *)(s0 + off[q]), *p1 = (const float *)(s1 + off[q]);
            const uint32_t m0 = l0[q], m1 = SEG > 1 ? l1[q] : 0;
            const float32x4_t b0 = load_lanes(p0, m0 & 0xF, p1, m1 & 0xF);
            const float32x4_t b1 = NV > 1 ? load_lanes(p0 + 4, m0 >> 4 & 0xF, p1 + 4, m1 >> 4 & 0xF) : b0;
            const float32x4_t b2 = NV > 2 ? load_lanes(p0 + 8, m0 >> 8 & 0xF, p1 + 8, m1 >> 8 & 0xF) : b0;
            const float32x4_t b3 = NV > 3 ? load_lanes(p0 + 12, m0 >> 12 & 0xF, p1 + 12, m1 >> 12 & 0xF) : b0;
            const float32x4_t a0 = vld1q_f32(a), a1 = vcombine_f32(vld1_f32(a + 4), vdup_n_f32(0.0f));
            ACC_STEP(0, a0, 0) ACC_STEP(1, a0, 1) ACC_STEP(2, a0, 2) ACC_STEP(3, a0, 3)
            ACC_STEP(4, a1, 0) ACC_STEP(5, a1, 1)
            a += DMR;
        }
        s0 += plane_in;
        s1 += plane_in;
    }
    FOR_ROWS(ACC_STORE)
}

typedef void (*tile_fn)(int, long, const float *, const intptr_t *, const pk_direct_addresses *, const uint32_t *,
                        intptr_t, intptr_t);

#define TILE_FN(M_, NV, SEG)                                                                             \
    static void tile_##M_##_##NV##_##SEG(int taps, long ch, const float *a, const intptr_t *off,          \
                                         const pk_direct_addresses *t, const uint32_t *mk, intptr_t pi,   \
                                         intptr_t po) {                                                   \
        tile(M_, NV, SEG, taps, ch, a, off, t, mk, pi, po);                                              \
    }
#define TILE_FNS(M_) TILE_FN(M_, 1, 1) TILE_FN(M_, 2, 1) TILE_FN(M_, 3, 1) TILE_FN(M_, 4, 1) \
                     TILE_FN(M_, 1, 2) TILE_FN(M_, 2, 2) TILE_FN(M_, 3, 2) TILE_FN(M_, 4, 2)
TILE_FNS(1) TILE_FNS(2) TILE_FNS(3) TILE_FNS(4) TILE_FNS(5) TILE_FNS(6)

// g_tiles[rows - 1][segments - 1][vectors - 1]
#define TILE_ROW(M_) {{tile_##M_##_1_1, tile_##M_##_2_1, tile_##M_##_3_1, tile_##M_##_4_1}, \
                      {tile_##M_##_1_2, tile_##M_##_2_2, tile_##M_##_3_2, tile_##M_##_4_2}},
static const tile_fn g_tiles[HALF][2][4] = {TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6)};

/// A panel of up to 12 rows as one tile (up to 6 rows) or two of nearly equal height.
static void panel(const void *masks, int rows, int segs, long n, int taps, long channels, const float *a,
                  const intptr_t *off, const pk_direct_addresses *t, intptr_t plane_in, intptr_t plane_out) {
    const uint32_t *mk = (const uint32_t *)masks;
    const int first = rows <= HALF ? rows : (rows + 1) / 2, vectors = (int)((n + 3) / 4);
    g_tiles[first - 1][segs - 1][vectors - 1](taps, channels, a, off, t, mk, plane_in, plane_out);
    if (first < rows) {
        pk_direct_addresses lower = *t;
        lower.dst[0] += (uintptr_t)(first * plane_out);
        lower.dst[1] += (uintptr_t)(first * plane_out);
        g_tiles[rows - first - 1][segs - 1][vectors - 1](taps, channels, a + first, off, &lower, mk, plane_in, plane_out);
    }
}

static const pk_direct_kernel g_kernel = {.columns = DNR, .mask_bytes = mask_bytes, .masks = masks_from_lanes,
                                          .panel = panel};

const pk_direct_kernel *pk_direct_kernel_neon(void) { return &g_kernel; }
#endif
