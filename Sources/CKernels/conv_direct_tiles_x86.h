// The tile-function table of the x86 direct convolution kernels (AVX2, AVX-512): one function
// per (rows, column vectors, images, taps) instance of the file's always-inline `tile`, and the
// table `g_tiles[rows - 1][generic taps][segments - 1][vectors - 1]`. Included after the file
// defines TGT, `tile(M_, NV, SEG, TAPS, taps, channels, a, off, t, masks, plane_in, plane_out)`
// and its `tile_masks` type; the file instantiates DIRECT_TILE_FNS and DIRECT_TILE_ROW for its
// row counts (1..6 on AVX2, 1..12 on AVX-512).
#ifndef PK_CONV_DIRECT_TILES_X86_H
#define PK_CONV_DIRECT_TILES_X86_H

typedef void (*tile_fn)(int, long, const float *, const intptr_t *, const pk_direct_addresses *,
                        const tile_masks *, intptr_t, intptr_t);

#define DIRECT_TILE_FN(M_, NV, SEG, TAPS)                                                               \
    TGT static void tile_##M_##_##NV##_##SEG##_##TAPS(int taps, long ch, const float *a,                 \
                                                      const intptr_t *off, const pk_direct_addresses *t, \
                                                      const tile_masks *mk, intptr_t pi, intptr_t po) {  \
        tile(M_, NV, SEG, TAPS, taps, ch, a, off, t, mk, pi, po);                                       \
    }
/// The eight instances for M_ rows: 1 or 2 vectors, 1 or 2 images, 3x3 taps or any.
#define DIRECT_TILE_FNS(M_)                                                                                    \
    DIRECT_TILE_FN(M_, 1, 1, 9) DIRECT_TILE_FN(M_, 2, 1, 9) DIRECT_TILE_FN(M_, 1, 2, 9) DIRECT_TILE_FN(M_, 2, 2, 9) \
    DIRECT_TILE_FN(M_, 1, 1, 0) DIRECT_TILE_FN(M_, 2, 1, 0) DIRECT_TILE_FN(M_, 1, 2, 0) DIRECT_TILE_FN(M_, 2, 2, 0)
/// The table entry for M_ rows: [generic taps][segments - 1][vectors - 1].
#define DIRECT_TILE_ROW(M_) {{{tile_##M_##_1_1_9, tile_##M_##_2_1_9}, {tile_##M_##_1_2_9, tile_##M_##_2_2_9}}, \
                             {{tile_##M_##_1_1_0, tile_##M_##_2_1_0}, {tile_##M_##_1_2_0, tile_##M_##_2_2_0}}},

#endif
