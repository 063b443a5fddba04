"""What "a feature removed" means, per modality: the baseline of IG, occlusion and deletion.

- expression / tabular: zeros, which after standardisation is the training mean of each feature;
- images: the image blurred (Gaussian, sd = ``blur`` x its side; ``blur=0``: a black image).
"""

from __future__ import annotations

import numpy as np

from benchmarks.core.modalities import IMAGE

BLUR = 0.1  # Gaussian sd as a fraction of the image side


def baseline_for(x: np.ndarray, modality: str, *, blur: float = BLUR) -> np.ndarray:
    """One baseline per sample of ``x`` (same shape)."""
    if modality != IMAGE:
        return np.zeros_like(x, dtype=np.float32)
    if blur <= 0:
        return np.zeros_like(x, dtype=np.float32)
    from scipy.ndimage import gaussian_filter

    sd = blur * x.shape[1]
    sigma = (0, sd, sd) + (0,) * (x.ndim - 3)  # blur height and width only
    return gaussian_filter(x.astype(np.float32), sigma=sigma, mode="reflect").astype(np.float32)


def describe(modality: str, blur: float = BLUR) -> str:
    """The baseline in words, for the record."""
    if modality != IMAGE:
        return "zeros after standardisation (each feature's training mean)"
    return f"Gaussian-blurred image (sd {blur:g} x side)" if blur > 0 else "black image (zeros)"
