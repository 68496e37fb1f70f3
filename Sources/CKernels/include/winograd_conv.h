#pragma once
#include <stddef.h>

#include "packed_gemm.h"

/// 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3): each 4×4 input tile is
/// transformed (Bᵀ d B), multiplied per transform position by the transformed filter (G g Gᵀ) with the
/// packed GEMM of packed_gemm.h, and transformed back (Aᵀ m A) into a 2×2 output tile — 16 products per
/// four outputs instead of 36. x86-64 with AVX2 and FMA only (see `pg_supported`); channel counts must be
/// multiples of 8.

/// Floats needed for the 16 transformed, packed cin×cout filter matrices.
size_t pg_winograd_size(int cin, int cout);

/// Transforms a 3×3×cin×cout (HWIO) filter and packs the 16 matrices into `packed`. Returns 0, or -1
/// when working memory could not be allocated.
int pg_winograd_pack(const float *filter, int cin, int cout, float *packed);

/// c = activation(conv(image, filter) + bias + residual) for `batch` NHWC images; `geometry` must describe
/// a 3×3 window with strides and dilations 1, `geometry->channels` = cin. Output rows are laid out as
/// `pg_gemm_conv` writes them (row stride cout). bias may be NULL or hold cout values; residual NULL or
/// shaped like c. Returns 0, or -1 for an unsupported geometry or when working memory could not be
/// allocated.
int pg_winograd_conv(int batch, const pg_conv_geometry *geometry, int cout, const float *packed, const float *bias,
                     const float *residual, int activation, float *c);
