"""DICOM images (pydicom 3) as float32 (H, W, 1|3) in [0, 1], for ``folder:`` and the server.

Order, as a DICOM viewer displays a single frame (PS3.4 Grayscale Standard Display pipeline):
1. stored pixels (``pixel_array``; YBR colour is converted to RGB by pydicom, PALETTE COLOR
   through its colour LUT);
2. modality LUT: Rescale Slope/Intercept (e.g. CT Hounsfield units) or a Modality LUT Sequence;
3. VOI LUT: the first Window Center/Width (or VOI LUT Sequence) when the file has one, mapped
   to [0, 1] over the window's output range; without one, the image's own min..max;
4. MONOCHROME1 (0 = white) inverted, so that 1 is always bright.
Multi-frame files (NumberOfFrames > 1: CT/MR volumes, cine) are refused with one line: a volume
is not an image of this benchmark, and picking a frame silently would hide that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError, quote

DICOM_SUFFIXES = (".dcm", ".dicom")
MAX_DICOM_PIXELS = 64_000_000  # rows x columns x samples: the same order as MAX_IMAGE_PIXELS


def is_dicom(path: Path) -> bool:
    """By suffix (``.dcm``/``.dicom``): what ``folder:`` reads as DICOM."""
    return Path(path).suffix.lower() in DICOM_SUFFIXES


def _read(source: Any, name: str, header_only: bool = False) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(source, stop_before_pixels=header_only)
    except PermissionError:
        raise
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"{name}: not a readable DICOM file ({type(exc).__name__}: "
            f"{quote(str(exc), 80)[1:-1]}); replace or remove it"
        ) from None


def _check_header(ds: Any, name: str) -> tuple[int, int, int]:
    """(rows, columns, samples per pixel), refusing what this reader does not handle."""
    if "PixelData" not in ds and "Rows" not in ds:
        raise DataError(
            f"{name}: DICOM file has no image (no Pixel Data; e.g. an RT plan or structure "
            "set); remove it from the folder"
        )
    frames = (
        int(ds.get("NumberOfFrames", 1) or 1) if str(ds.get("NumberOfFrames", "1")).strip().isdigit() else -1
    )
    if frames != 1:
        raise DataError(
            f"{name}: multi-frame DICOM ({ds.get('NumberOfFrames')} frames) is refused: one "
            "image per file; export the frame(s) you mean as single-frame files"
        )
    rows, cols, spp = int(ds.get("Rows", 0)), int(ds.get("Columns", 0)), int(ds.get("SamplesPerPixel", 1))
    if rows < 1 or cols < 1 or rows * cols * spp > MAX_DICOM_PIXELS:
        raise DataError(
            f"{name}: DICOM image is {cols}x{rows}x{spp}, outside 1 pixel...{MAX_DICOM_PIXELS:,} "
            "values; downscale it"
        )
    photo = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photo not in ("MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR") and not photo.startswith("YBR"):
        raise DataError(
            f"{name}: DICOM photometric interpretation {photo} is not supported "
            "(MONOCHROME1/2, RGB, YBR_*, PALETTE COLOR)"
        )
    return rows, cols, spp


def dicom_header(path: Path) -> tuple[tuple[int, int], bool]:
    """((width, height), rgb) from the header alone (nothing decoded); refuses multi-frame."""
    ds = _read(path, str(path), header_only=True)
    rows, cols, spp = _check_header(ds, str(path))
    photo = str(ds.get("PhotometricInterpretation", ""))
    return (cols, rows), spp == 3 or photo == "PALETTE COLOR"


def dicom_pixels(source: Any, name: str) -> tuple[np.ndarray, int, dict[str, Any]]:
    """A DICOM file (path or file-like) as float32 (H, W, 1|3) in [0, 1]; returns (array, stored bit
    depth, facts: photometric, modality_lut, voi, sop_instance_uid)."""
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    ds = _read(source, name)
    _check_header(ds, name)
    photo = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)))
    try:
        arr = ds.pixel_array
        facts: dict[str, Any] = {
            "photometric": photo,
            "sop_instance_uid": str(ds.get("SOPInstanceUID", "")),
            "modality_lut": None,
            "voi": None,
        }
        if photo == "PALETTE COLOR":
            rgb = np.asarray(apply_color_lut(arr, ds), np.float64)
            top = 255.0 if rgb.max(initial=0) <= 255 else 65535.0
            return (rgb / top).astype(np.float32), bits, facts
        if arr.ndim == 3:  # RGB (pydicom converted YBR to RGB)
            top = float(2**bits - 1)
            return (np.asarray(arr, np.float64) / top).clip(0, 1).astype(np.float32), bits, facts
        x = np.asarray(apply_modality_lut(arr, ds), np.float64)
        if "RescaleSlope" in ds or "RescaleIntercept" in ds:
            facts["modality_lut"] = (
                f"rescale slope {float(ds.get('RescaleSlope', 1)):g}, "
                f"intercept {float(ds.get('RescaleIntercept', 0)):g}"
            )
        elif "ModalityLUTSequence" in ds:
            facts["modality_lut"] = "Modality LUT Sequence"
        if "WindowCenter" in ds and "WindowWidth" in ds or "VOILUTSequence" in ds:
            v = np.asarray(apply_voi_lut(x, ds, index=0), np.float64)
            lo, hi = _voi_range(ds)
            facts["voi"] = (
                "VOI LUT Sequence"
                if "VOILUTSequence" in ds
                else f"window center {_first(ds.WindowCenter):g}, width {_first(ds.WindowWidth):g}"
            )
        else:
            v = x
            lo, hi = float(x.min()), float(x.max())
            facts["voi"] = "none in file: the image's min..max"
    except DataError:
        raise
    except (
        ValueError,
        NotImplementedError,
        RuntimeError,
        KeyError,
        AttributeError,
        TypeError,
        IndexError,
        MemoryError,
    ) as exc:
        raise DataError(
            f"{name}: cannot decode DICOM pixel data ({type(exc).__name__}: "
            f"{quote(str(exc), 80)[1:-1]}); a compressed transfer syntax may need its decoder "
            "(pylibjpeg/openjpeg) installed"
        ) from None
    out = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    out = np.clip(out, 0.0, 1.0)
    if photo == "MONOCHROME1":
        out = 1.0 - out
    return out.astype(np.float32)[..., None], bits, facts


def _first(value: Any) -> float:
    return float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)


def _voi_range(ds: Any) -> tuple[float, float]:
    """The output range of the VOI transform pydicom applied (as ``apply_windowing`` computes it:
    the stored bit range, through the modality LUT or rescale; a VOI LUT: its entries' bit depth)."""
    if "VOILUTSequence" in ds and not ("WindowCenter" in ds and "WindowWidth" in ds):
        item = ds.VOILUTSequence[0]
        return 0.0, float(2 ** int(item.LUTDescriptor[2]) - 1)
    if ds.get("ModalityLUTSequence"):
        return 0.0, float(2 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
    bits = int(ds.get("BitsStored", 8))
    lo, hi = (
        (-float(2 ** (bits - 1)), float(2 ** (bits - 1) - 1))
        if int(ds.get("PixelRepresentation", 0)) == 1
        else (0.0, float(2**bits - 1))
    )
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        slope, icpt = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        lo, hi = lo * slope + icpt, hi * slope + icpt
    return lo, hi
