#ifndef PRACTISE_CKERNELS_H
#define PRACTISE_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Row-major SGEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
/// transA != 0 means A is stored [K,M] (lda >= M); transB != 0 means B is stored [N,K] (ldb >= K).
/// Single-threaded and re-entrant (may be called concurrently from several threads on disjoint C blocks);
/// any packing buffers are per call or thread-local. beta == 0 must ignore C's old contents (NaN-safe).
void pk_sgemm(int transA, int transB, long M, long N, long K, float alpha,
              const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);

/// One piece of a parallel region: `fn(ctx, piece)`.
typedef void (*pk_piece_fn)(void *ctx, int piece);

/// Runs `fn(ctx, p)` once for every p in [0, pieces), spread over the calling thread and up to
/// `threads - 1` pooled workers (CKernels/threadpool.c), and returns when all have finished.
/// Runs inline on the caller when pieces or threads is 1, when called from inside a piece, or
/// while another thread is running a region.
void pk_parallel_run(int pieces, int threads, pk_piece_fn fn, void *ctx);

/// x86-64: 2 = AVX-512F, 1 = AVX2+FMA, 0 = portable C, detected once via cpuid
/// (__builtin_cpu_supports); aarch64: 1 = NEON, 0 = portable C. The environment variable
/// PRACTISE_SIMD=avx512|avx2|neon|portable forces a level no higher than the CPU has.
int pk_simd_level(void);
/// The level's name as PRACTISE_SIMD spells it ("avx512", "avx2", "neon", "portable").
const char *pk_simd_level_name(int level);

/// Pre-packed A, for many products with the same left operand (e.g. a conv weight applied to
/// every chunk of a batch): pack op(A) `[M, K]` once for a SIMD level, then multiply with
/// pk_sgemm_packed at that same level (pass the value pk_simd_level() returned when packing).
/// pk_sgemm_packed_a_size gives the floats `packed` must hold; pk_sgemm_packed computes
/// C = alpha * op(A) * op(B) + beta * C like pk_sgemm from the packed copy alone (A and lda are
/// not read; A may be NULL), so A may be freed or changed once packed.
size_t pk_sgemm_packed_a_size(int level, long M, long K);
void pk_sgemm_pack_a(int level, int transA, long M, long K, const float *A, long lda, float *packed);
void pk_sgemm_packed(int level, int transA, int transB, long M, long N, long K, float alpha,
                     const float *A, long lda, const float *packed, const float *B, long ldb,
                     float beta, float *C, long ldc);
/// Rows [row0, row0 + rows) of pk_sgemm_packed's product (C points at row row0 of the result):
/// lets threads split a packed product by rows. row0 must be a multiple of
/// pk_sgemm_packed_row_unit(level), the kernels' row-panel height.
void pk_sgemm_packed_rows(int level, int transA, int transB, long M, long row0, long rows, long N, long K,
                          float alpha, const float *A, long lda, const float *packed, const float *B,
                          long ldb, float beta, float *C, long ldc);
long pk_sgemm_packed_row_unit(int level);

/// What a product does to row i of C once its sum is complete (an eval-mode batch norm folded to
/// a per-row scale and shift, a residual, a ReLU or ReLU6):
///   C[i, j] = min(max(C[i, j] * scale[i] + shift[i] + residual[i * ldr + j], lower), upper)
/// `residual` may be NULL (nothing added); lower/upper -INFINITY/INFINITY for no clamp; NaN passes
/// through the clamp. Rows and columns are those of the C the call is given.
typedef struct {
    const float *scale, *shift;
    const float *residual;
    long ldr;
    float lower, upper;
} pk_epilogue;
/// pk_sgemm_packed_rows (alpha 1, beta 0) with `ep` applied to each row block of C, a group of
/// up to 8 column panels (128 or 256 columns) at a time, right after their last K block is
/// stored, while they are still in cache; `ep` NULL is pk_sgemm_packed_rows.
void pk_sgemm_packed_rows_epilogue(int level, int transA, int transB, long M, long row0, long rows, long N,
                                   long K, const float *packed, const float *B, long ldb, float *C, long ldc,
                                   const pk_epilogue *ep);
/// `ep` applied in place to rows [0, rows) and columns [0, n) of C (leading dimension ldc): for
/// products whose sums were completed by another kernel (Winograd, direct conv).
void pk_apply_epilogue(const pk_epilogue *ep, float *C, long ldc, long rows, long n);

/// Force a level at run time (clamped to what the CPU supports); returns the level now in force. For tests.
int pk_set_simd_level(int level);

/// One image plane sweep of a convolution: input `[channels, height, width]`, kernel
/// `kernel_h x kernel_w`, output `out_h x out_w`.
typedef struct {
    long channels, height, width, kernel_h, kernel_w, stride, padding, out_h, out_w;
} pk_conv_shape;

/// Unfolds one image `x` `[channels, height, width]` into `col` `[channels*kh*kw, out_h*out_w]`
/// whose rows have leading dimension `ldc` (>= out_h*out_w); padding positions become 0.
void pk_im2col(const float *x, const pk_conv_shape *g, float *col, long ldc);

/// Folds `col` (layout as pk_im2col's) back, adding every entry into its input pixel of `dx`
/// `[channels, height, width]`; entries at padding positions are dropped. `col` is scratch: its
/// padding entries may be overwritten with zeros.
void pk_col2im(float *col, long ldc, const pk_conv_shape *g, float *dx);

/// pk_im2col for the output rows [y0, y1) only: `col` `[channels*kh*kw, (y1-y0)*out_w]`, column
/// (y - y0)*out_w + x holding output pixel (y, x). Lets a large image be unfolded in L2-sized blocks.
void pk_im2col_rows(const float *x, const pk_conv_shape *g, long y0, long y1, float *col, long ldc);

/// Direct convolution (CKernels/conv_direct.c) for stride-1 convs whose output is as wide as the
/// input (kernel up to 7x7, not an unpadded 1x1), at least 32 output pixels per image, at the
/// AVX-512 and AVX2 levels (pk_conv_direct_available): pk_conv_direct_supports says whether `g`
/// qualifies at `level`.
int pk_conv_direct_available(int level);
int pk_conv_direct_supports(int level, const pk_conv_shape *g);
/// The weight `[M, K]` (rows `ldw` apart, K = channels * kernel_h * kernel_w) in the direct
/// kernel's layout: one k-major panel of 12 floats per k for each tile of output channels (12
/// rows, the last two evened out when fewer than 6 would remain), rows past the tile's zero.
/// pk_conv_direct_packed_size gives the floats `dst` must hold.
size_t pk_conv_direct_packed_size(long M, long K);
void pk_conv_direct_pack(const float *w, long M, long K, long ldw, float *dst);
/// Output columns [j0, j1) of the conv of images `x` (image n's `[channels, height, width]` at
/// x + n * x_image_stride, e.g. the first channel of a group), column j
/// being pixel j % (out_h * out_w) of image j / (out_h * out_w): writes rows [0, M) of those
/// columns of `y` (image n's output channel 0 at y + n * y_image_stride, planes out_h * out_w
/// floats apart). Returns 0, doing nothing, where pk_conv_direct_supports is false or memory
/// ran out, else 1.
int pk_conv_direct(int level, const float *packed, long M, const pk_conv_shape *g, const float *x,
                   long x_image_stride, long j0, long j1, float *y, long y_image_stride);

/// The weight gradient of such a conv with a 3x3 kernel, padding 1 (CKernels/conv_weight_grad.c;
/// pk_conv_direct_weight_grad_supports):
/// adds Σ over `images` images and output pixels of gy ⊗ shifted x into dw `[M, channels·9]`
/// (row-major), image n's `[channels, height, width]` input at x + n * x_image_stride and its
/// `[M, out_h, out_w]` output gradient at gy + n * gy_image_stride. Returns 0, doing nothing,
/// where unsupported or out of memory, else 1.
int pk_conv_direct_weight_grad_supports(int level, const pk_conv_shape *g);
int pk_conv_direct_weight_grad(int level, const pk_conv_shape *g, long M, const float *x, long x_image_stride,
                               const float *gy, long gy_image_stride, long images, float *dw);

/// Winograd F(2x2, 3x3) for stride-1 3x3 convolutions (CKernels/winograd.c). Output tiles are
/// 2x2, tw = ceil(out_w / 2) per row; the 16 positions xi of a transformed tile each get their
/// own matrix, xi_stride floats apart. Whether `g` is supported (3x3, stride 1, padding <= 2,
/// out_w <= 2048):
int pk_winograd_supports(const pk_conv_shape *g);
/// Transformed weights, input channels [c0, c1): `w` `[O, C, 3, 3]` -> u[xi * xi_stride + c * O + o]
/// (each U_xi stored transposed, so packing it for the GEMM is a plain copy; xi_stride >= C * O).
void pk_winograd_weight(const float *w, long O, long C, long c0, long c1, float *u, long xi_stride);
/// Transformed input tiles of one image `x` `[channels, H, W]`, channels [c0, c1) and tile rows
/// [ty0, ty1): v[xi * xi_stride + c * ldv + (ty - ty0) * tw + tx].
void pk_winograd_input(const float *x, const pk_conv_shape *g, long c0, long c1, long ty0, long ty1,
                       float *v, long ldv, long xi_stride);
/// Output rows [2 ty0, 2 ty1) (clipped to out_h) of channels [o0, o1) of one image `y`
/// `[O, out_h, out_w]` from the products m[xi * xi_stride + o * ldm + (ty - ty0) * tw + tx].
void pk_winograd_output(const float *m, long ldm, long xi_stride, const pk_conv_shape *g, long o0, long o1,
                        long ty0, long ty1, float *y);

/// pk_col2im for a block of output rows laid out as pk_im2col_rows's.
void pk_col2im_rows(float *col, long ldc, const pk_conv_shape *g, long y0, long y1, float *dx);

/// Depthwise convolution forward of one plane (CKernels/depthwise.c): `x` `[height, width]`
/// convolved with `w` `[kernel_h, kernel_w]` (up to 7x7; any stride and padding) into `y`
/// `[out_h, out_w]` (`channels` unused). `scratch` holds pk_depthwise_scratch_size(g) floats, zeroed
/// before the first plane; the function keeps its padding zero, so it serves every plane of `g`.
/// The size is 0 where the SIMD level in force reads the plane in place (x86 levels, strides 1
/// and 2: depthwise_x86.c); pass NULL then.
size_t pk_depthwise_scratch_size(const pk_conv_shape *g);
void pk_depthwise_forward_plane(const float *x, const float *w, const pk_conv_shape *g, float *y, float *scratch);
/// The outputs' map `v -> min(max(v * scale + shift, lower), upper)` (NaN passes through).
typedef struct {
    float scale, shift, lower, upper;
} pk_plane_affine;
/// pk_depthwise_forward_plane with `a` applied to every output as it is written: an eval-mode batch
/// norm folded to scale and shift, and a ReLU (lower 0) or ReLU6 (upper 6), in the same pass.
void pk_depthwise_forward_plane_affine(const float *x, const float *w, const pk_conv_shape *g, const pk_plane_affine *a,
                                       float *y, float *scratch);

/// Max pooling of `planes` planes `[height, width]` → `[out_h, out_w]` (kernel, stride and
/// padding from `g`; padding <= kernel/2; `channels` unused), with F.max_pool2d's choice of
/// element (first maximum in row-major window order, NaN wins). `argmax`, if not NULL, receives
/// each output's flat index within its input plane. Returns 0, or -1 if scratch memory ran out.
int pk_max_pool2d(const float *x, long planes, const pk_conv_shape *g, float *y, int32_t *argmax);

/// Batch-norm plane loops (float results, summed in any order):
/// Σ x[i]
float pk_sum(const float *x, long n);
/// Σ (x[i] − mu)²
float pk_sum_sq_dev(const float *x, long n, float mu);
/// y[i] = x[i]·scale + shift (y may equal x)
void pk_scale_shift(const float *x, long n, float scale, float shift, float *y);
/// y[i] = min(max(x[i]·scale + shift, 0), upper): batch norm followed by ReLU (`upper` = INFINITY)
/// or ReLU6 (`upper` = 6); NaN passes through.
void pk_scale_shift_clamp(const float *x, long n, float scale, float shift, float upper, float *y);
/// *sum_g = Σ g[i], *sum_g_dev = Σ g[i]·(x[i] − mu)
/// With `act_out` (the output of a fused ReLU or ReLU6, see pk_scale_shift_clamp) not NULL, g[i]
/// counts only where 0 < act_out[i] < upper.
void pk_sum_and_dot_dev(const float *g, const float *x, const float *act_out, long n, float mu, float upper,
                        float *sum_g, float *sum_g_dev);
/// dx[i] = scale·(g[i] − a − (x[i] − mu)·inv·b), g masked by `act_out` and `upper` as above when not NULL
void pk_bn_input_grad(const float *g, const float *x, const float *act_out, long n, float mu, float inv, float scale,
                      float a, float b, float upper, float *dx);

/// y[r * ldy + o] = Σ_j x[r * ldx + j] · w[o * ldw + j] for rows r < m of x and rows o in [o0, o1) of
/// w (CKernels/gemv.c): `x · wᵀ` for a few rows of x, reading each row of w once, unpacked.
void pk_rows_times_rows(const float *x, long ldx, long m, const float *w, long ldw, long k, long o0, long o1,
                        float *y, long ldy);

/// On glibc, serves large blocks from the heap instead of fresh mmaps so that freed tensor
/// buffers are reused rather than unmapped and page-faulted again; a no-op elsewhere.
void pk_keep_freed_blocks_in_heap(void);

/// Tensor buffers: 64-byte aligned blocks of `bytes` (NULL when memory ran out). Blocks of at
/// least 32 MiB, which the C library maps fresh from the kernel every time (page faults and
/// zeroing on first touch), are kept on free in a cache of eight blocks (at most 1 GiB); the next
/// large request takes one of exactly its size or else, on Linux, resizes the nearest one
/// (mremap: its pages are kept). Cached blocks stay only while the large blocks in use plus those
/// cached stay within the most the blocks in use have held at once, so the cache never raises
/// that peak. Fresh large blocks are advised to use transparent huge pages on Linux. Smaller
/// blocks go to malloc's heap. Thread-safe.
void *pk_buffer_alloc(size_t bytes);
/// Releases a block from pk_buffer_alloc; `bytes` must be the size it was allocated with.
void pk_buffer_free(void *block, size_t bytes);
/// Releases every cached block and restarts the peak the cache stays within from the blocks in use now.
void pk_buffer_release_cached(void);
/// Bytes held by the cache now (for tests and diagnostics).
size_t pk_buffer_cached_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
