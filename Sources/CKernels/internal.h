// Internal interfaces shared by the SGEMM translation units (not part of the public header).
#ifndef PRACTISE_CKERNELS_INTERNAL_H
#define PRACTISE_CKERNELS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "CKernels.h"

/// Unrolls the following loop 4x (clang; other compilers choose themselves).
#if defined(__clang__)
#define PK_UNROLL4 _Pragma("clang loop unroll_count(4)")
#else
#define PK_UNROLL4
#endif

/// Micro-kernel: computes an m x n tile (m <= MR, n <= NR) of
///     C = alpha * Apanel * Bpanel + beta * C
/// from packed panels. `a` holds kc steps of MR floats (one per row), `b` holds kc steps of NR
/// floats (one per column), both 64-byte aligned. beta == 0 must not read C.
///
/// Padding contract of edge panels: the generic packers zero every padding lane. The x86
/// packers zero padding only up to the end of the 8-lane group holding the last valid column
/// (and not at all for A rows), because the SIMD kernels read A rows < m only and B lanes up to
/// round_up(n, 8) only; the portable kernel, which reads whole panels, uses the generic packers.
typedef void (*pk_ukernel_fn)(long kc, const float *a, const float *b, float *c, long ldc,
                              int m, int n, float alpha, float beta);

/// The same product with B read in place instead of from a packed panel: row k of the panel
/// is `b + k * ldb` (op(B) not transposed), of which the kernel reads the n valid columns only
/// (masked loads), so nothing past the matrix is touched.
typedef void (*pk_ukernel_strided_b_fn)(long kc, const float *a, const float *b, long ldb, float *c, long ldc,
                                        int m, int n, float alpha, float beta);

/// Packs a (rows x kc) block of op(A) starting at (i0, k0) into MR-row panels.
typedef void (*pk_pack_a_fn)(int transA, const float *A, long lda, long i0, long k0,
                             long rows, long kc, int mr, float *dst);
/// Packs a (kc x cols) block of op(B) starting at (k0, j0) into NR-column panels.
typedef void (*pk_pack_b_fn)(int transB, const float *B, long ldb, long k0, long j0,
                             long kc, long cols, int nr, float *dst);

/// Everything the blocked driver needs to know about one SIMD level.
typedef struct {
    int mr, nr;          // register tile (rows of C x columns of C)
    long kc, mc, nc;     // cache blocking of K, M and N (mc % mr == 0, nc % nr == 0)
    pk_ukernel_fn kernel;
    pk_ukernel_strided_b_fn kernel_strided_b;  // NULL where the level always packs B
    pk_pack_a_fn pack_a;
    pk_pack_b_fn pack_b;
} pk_kernel_desc;

/// Generic packers (plain C), usable by every level.
void pk_pack_a_generic(int transA, const float *A, long lda, long i0, long k0,
                       long rows, long kc, int mr, float *dst);
void pk_pack_b_generic(int transB, const float *B, long ldb, long k0, long j0,
                       long kc, long cols, int nr, float *dst);

#if defined(__x86_64__)
/// Packers with AVX2 register transposes for the gather case (AVX2 and AVX-512 levels).
void pk_pack_a_x86(int transA, const float *A, long lda, long i0, long k0,
                   long rows, long kc, int mr, float *dst);
void pk_pack_b_x86(int transB, const float *B, long ldb, long k0, long j0,
                   long kc, long cols, int nr, float *dst);
#endif

/// Per-level descriptors. The x86 ones exist only on x86-64 builds, the NEON one on aarch64.
const pk_kernel_desc *pk_desc_portable(void);
#if defined(__x86_64__)
const pk_kernel_desc *pk_desc_avx2(void);
const pk_kernel_desc *pk_desc_avx512(void);
#endif
#if defined(__aarch64__)
const pk_kernel_desc *pk_desc_neon(void);
#endif

/// Blocked GEMM driver (Goto/BLIS-style loops around a micro-kernel). Requires M, N, K > 0.
/// `packed_a`, if not NULL, is a matrix of `packed_rows` rows and K columns already packed by
/// pk_pack_a_all with the same `d`, of which this call uses rows [packed_row0, packed_row0 + M)
/// (`packed_row0` a multiple of d->mr); A is then not read (may be NULL). `ep`, if not NULL, is
/// applied to each column panel of C after its last K block (see pk_epilogue). With
/// `b_in_place` the kernel reads an untransposed B where it lies, without packing it, when the
/// level has a strided-B kernel and the shape suits it (driver.c's strided_b_suits).
void pk_gemm_blocked(const pk_kernel_desc *d, int transA, int transB, long M, long N, long K,
                     float alpha, const float *A, long lda, const float *packed_a,
                     long packed_row0, long packed_rows, const float *B, long ldb,
                     float beta, float *C, long ldc, const pk_epilogue *ep, int b_in_place);
/// `ep` applied to the m × n block of C at `c` whose first element is C[row, col] (row and col
/// index ep's scale, shift and residual): the driver's per-panel epilogue (epilogue.c).
void pk_epilogue_tile(const pk_epilogue *ep, float *c, long ldc, long row, long col, int m, int n);

/// The kernel descriptor of a SIMD level.
const pk_kernel_desc *pk_desc_for_level(int level);

/// Floats of op(A) `[M, K]` packed whole for `d`.
size_t pk_packed_a_floats(const pk_kernel_desc *d, long M, long K);
/// Packs the whole of op(A) `[M, K]` in the layout pk_gemm_blocked reads through `packed_a`.
void pk_pack_a_all(const pk_kernel_desc *d, int transA, const float *A, long lda, long M, long K,
                   float *dst);

/// Plain-C loops compiled once per SIMD level: `NAME##_body` (always inlined) becomes
/// `NAME##_portable` and, on x86-64, `NAME##_avx2` and `NAME##_avx512`; PK_DISPATCH picks one by
/// pk_simd_level(), so PRACTISE_SIMD selects these loops like the GEMM kernels.
#define PK_BODY static inline __attribute__((always_inline))
#if defined(__x86_64__)
#define PK_LEVEL_VARIANTS(RET, NAME, PARAMS, ARGS)                                                 \
    static RET NAME##_portable PARAMS { return NAME##_body ARGS; }                                 \
    __attribute__((target("avx2,fma"))) static RET NAME##_avx2 PARAMS { return NAME##_body ARGS; } \
    __attribute__((target("avx512f"))) static RET NAME##_avx512 PARAMS { return NAME##_body ARGS; }
#define PK_DISPATCH(NAME, ARGS)            \
    switch (pk_simd_level()) {             \
        case 2: return NAME##_avx512 ARGS; \
        case 1: return NAME##_avx2 ARGS;   \
        default: return NAME##_portable ARGS; \
    }
#else
#define PK_LEVEL_VARIANTS(RET, NAME, PARAMS, ARGS) \
    static RET NAME##_portable PARAMS { return NAME##_body ARGS; }
#define PK_DISPATCH(NAME, ARGS) return NAME##_portable ARGS;
#endif

/// Depthwise forward of one plane read and written in place (depthwise_x86.c), as
/// pk_depthwise_forward_plane_affine (`a` may be NULL) without its scratch: for strides 1 and 2
/// (pk_depthwise_direct_suits), bit for bit depthwise.c's result at the same level.
#if defined(__x86_64__)
int pk_depthwise_direct_suits(const pk_conv_shape *g);
void pk_depthwise_direct_avx512(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a, float *y);
void pk_depthwise_direct_avx2(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a, float *y);
#endif

/// Direct convolution (conv_direct.c): the driver shared by the SIMD levels' tile kernels.
/// Output channels come in panels of PK_DIRECT_MR rows (pk_conv_direct_pack's layout); a tile of
/// `columns` consecutive output columns (at most 32) may straddle two images (segments).
enum { PK_DIRECT_MR = 12, PK_DIRECT_MAX_TAPS = 49 };

/// Which lanes of a tile each image segment s (0, or 1 for a tile's second image) holds
/// (`seg[s]`, bit l = lane l) and, per kernel tap, which of those read a pixel inside the image
/// (`tap[s][t]`); segment 1 starts at lane `split` (n when there is none).
typedef struct {
    uint32_t seg[2];
    uint32_t tap[2][PK_DIRECT_MAX_TAPS];
    long split;
} pk_direct_lanes;

/// Where one tile reads and writes, per image segment: the byte address of lane 0's input pixel
/// (channel 0, unshifted) and of lane 0's output (row 0 of the panel).
typedef struct {
    uintptr_t src[2], dst[2];
} pk_direct_addresses;

/// One SIMD level's tile kernel for the driver.
typedef struct {
    long columns;  // columns per tile (<= 32)
    /// Bytes of one tile's masks in the level's own form, for `taps` taps.
    size_t (*mask_bytes)(int taps);
    /// Converts lane bits into the level's masks at `dst` (mask_bytes(taps) bytes, 64-byte aligned).
    void (*masks)(void *dst, const pk_direct_lanes *lanes, int taps);
    /// One panel of `rows` (1..PK_DIRECT_MR) output channels times one tile of `n` columns in
    /// `segs` (1..2) segments: `a` the panel's packed weights, `off` each tap's byte shift,
    /// `plane_in` / `plane_out` the bytes between channels of x / y.
    void (*panel)(const void *masks, int rows, int segs, long n, int taps, long channels, const float *a,
                  const intptr_t *off, const pk_direct_addresses *t, intptr_t plane_in, intptr_t plane_out);
} pk_direct_kernel;

#if defined(__x86_64__)
const pk_direct_kernel *pk_direct_kernel_avx512(void);
const pk_direct_kernel *pk_direct_kernel_avx2(void);
#endif
#if defined(__aarch64__)
const pk_direct_kernel *pk_direct_kernel_neon(void);
#endif

/// Direct 3x3 weight gradient (conv_weight_grad.c): one SIMD level's kernels for the driver.
/// Output channels are handled 16 at a time from a transposed output gradient gy_t[pixel][o]
/// (`ldg` floats a pixel, a multiple of 16, zero for o >= M); inputs are zero-bordered copies of
/// the images (rows `wp` floats apart, planes `plane_p`, images `image_p`).
typedef struct {
    /// dst[p * ldd + o] = src[o * plane + p] for o < M, p < plane, and 0 for M <= o < ldd.
    void (*transpose)(const float *src, long M, long plane, float *dst, long ldd);
    /// Adds into dwt (rows c * 9 + tap, `ldt` floats apart, 16 used) the products of the 16
    /// output channels at `gyt` with every one of the `channels` input channels at `xp`, over
    /// `images` images of h x w pixels.
    void (*outputs16)(const float *gyt, long ldg, const float *xp, long plane_p, long image_p, long wp, long h,
                      long w, long images, long channels, float *dwt, long ldt);
} pk_weight_grad_kernel;

#if defined(__x86_64__)
const pk_weight_grad_kernel *pk_weight_grad_kernel_avx512(void);
const pk_weight_grad_kernel *pk_weight_grad_kernel_avx2(void);
#endif
#if defined(__aarch64__)
const pk_weight_grad_kernel *pk_weight_grad_kernel_neon(void);
#endif

int pk_simd_level(void);

#endif
