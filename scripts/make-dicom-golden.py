#!/usr/bin/python3
"""Writes tests/unit/data/dicom_golden.json: what pydicom decodes from some of its own sample files.

Run with Debian's python3 (python3-pydicom 2.3, numpy, and the pillow and gdcm handlers):

    /usr/bin/python3 scripts/make-dicom-golden.py

For each file the JSON holds the header facts (photometric interpretation, transfer syntax,
frames, rows, columns, channels, Manufacturer, ManufacturerModelName) and the pixel values that
`unlearn::read_dicom_image` must reproduce: pydicom's pixel_array, converted to RGB with
convert_color_space for YBR_FULL[_422], mapped with apply_color_lut for PALETTE COLOR, and passed
through apply_modality_lut (Rescale Slope/Intercept) for monochrome images. We record the sum,
min, max and the values at a few fixed (frame, row, column, channel) positions.

Each file is decoded by the first pydicom handler that can, in the order numpy, RLE, Pillow,
GDCM, so that compressed files are checked against a decoder other than the GDCM the C++ reader
uses wherever pydicom has one (JPEG-LS has none here; its file is checked against the
uncompressed original instead). The handler used is recorded as `decoder`.
"""

import json
import os
import sys
import warnings

import numpy as np
import pydicom
from pydicom import config
from pydicom.pixel_data_handlers import (gdcm_handler, numpy_handler, pillow_handler,
                                         rle_handler)
from pydicom.pixel_data_handlers.util import (apply_color_lut, apply_modality_lut,
                                              convert_color_space)

TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests", "unit", "data",
                   "dicom_golden.json")

# (file, what it covers). Every case the reader handles, where pydicom ships a file for it.
FILES = [
    ("CT_small.dcm", "CT, signed 16-bit, RescaleIntercept -1024, explicit VR little endian"),
    ("MR_small.dcm", "MR, signed 16-bit, explicit VR little endian"),
    ("MR_small_implicit.dcm", "implicit VR little endian"),
    ("MR_small_bigendian.dcm", "explicit VR big endian"),
    ("MR_small_RLE.dcm", "RLE lossless, 16-bit"),
    ("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS lossless"),
    ("MR_small_jp2klossless.dcm", "JPEG 2000 lossless"),
    ("JPEG2000.dcm", "JPEG 2000 lossy, signed 16-bit"),
    ("693_J2KI.dcm", "JPEG 2000 lossy, signed, RescaleIntercept -1024"),
    ("image_dfl.dcm", "deflated explicit VR little endian, unsigned 8-bit"),
    ("liver_1frame.dcm", "1-bit segmentation (bits packed)"),
    ("rtdose.dcm", "15 frames, unsigned 32-bit, DoseGridScaling not applied"),
    ("rtdose_expb.dcm", "32-bit explicit VR big endian (GDCM swaps only its 16-bit halves)"),
    ("ExplVR_BigEnd.dcm", "RGB, planar configuration 1, big endian"),
    ("SC_rgb_rle_2frame.dcm", "RGB, 2 frames, RLE"),
    ("SC_rgb_dcmtk_+eb+cr.dcm", "JPEG baseline, RGB (no colour transform)"),
    ("SC_rgb_jpeg_dcmtk.dcm", "JPEG baseline, YBR_FULL"),
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", "JPEG baseline, YBR_FULL_422 (chroma subsampled)"),
    ("SC_ybr_full_422_uncompressed.dcm", "uncompressed YBR_FULL_422"),
]

HANDLERS = [numpy_handler, rle_handler, pillow_handler, gdcm_handler]

# Lossy transfer syntaxes: JPEG baseline/extended and JPEG 2000 (irreversible).
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.91"}


def decode(path):
    """pixel_array from the first handler that can decode `path`, and that handler's name."""
    for handler in HANDLERS:
        if not handler.is_available():
            continue
        ds = pydicom.dcmread(path)
        if not handler.supports_transfer_syntax(ds.file_meta.TransferSyntaxUID):
            continue
        config.pixel_data_handlers = [handler]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ds, ds.pixel_array, handler.__name__.rsplit(".", 1)[-1]
        except Exception:  # noqa: BLE001 - try the next handler
            continue
    sys.exit(f"no pydicom handler decodes {path}")


def values(ds, arr):
    """The pixel values read_dicom_image returns, as float64 F×H×W×C."""
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    samples = int(ds.SamplesPerPixel)
    photometric = ds.PhotometricInterpretation.strip()
    if photometric in ("YBR_FULL", "YBR_FULL_422"):
        arr = convert_color_space(arr, photometric, "RGB")
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        samples = 3
    if photometric in ("MONOCHROME1", "MONOCHROME2"):
        arr = apply_modality_lut(arr, ds)
    return np.asarray(arr, dtype=np.float64).reshape(frames, ds.Rows, ds.Columns, samples)


def positions(shape, arr):
    """Fixed corners and centre, the first minimum and maximum, and a few seeded positions."""
    f, h, w, c = shape
    picks = [(0, 0, 0, 0), (f - 1, h - 1, w - 1, c - 1), (f // 2, h // 2, w // 2, c // 2)]
    picks.append(tuple(int(i) for i in np.unravel_index(np.argmin(arr), shape)))
    picks.append(tuple(int(i) for i in np.unravel_index(np.argmax(arr), shape)))
    rng = np.random.RandomState(1234)
    while len(picks) < 10:
        picks.append(tuple(int(rng.randint(0, n)) for n in shape))
    return picks


def main():
    if not os.path.isdir(TEST_FILES):
        sys.exit(f"pydicom's sample files are not in {TEST_FILES}")
    out = {
        "generator": "scripts/make-dicom-golden.py",
        "pydicom": pydicom.__version__,
        "numpy": np.__version__,
        "note": "pixel values after convert_color_space (YBR), apply_color_lut (palette) and "
                "apply_modality_lut (monochrome); positions are [frame, row, col, channel, value]",
        "files": [],
    }
    decoded = {}
    for name, covers in FILES:
        ds, arr, decoder = decode(os.path.join(TEST_FILES, name))
        px = values(ds, arr)
        decoded[name] = px
        ts = ds.file_meta.TransferSyntaxUID
        out["files"].append({
            "file": name,
            "covers": covers,
            "transfer_syntax": str(ts),
            "transfer_syntax_name": ts.name,
            "lossy": str(ts) in LOSSY,
            "decoder": decoder,
            "photometric": ds.PhotometricInterpretation.strip(),
            "frames": px.shape[0],
            "rows": px.shape[1],
            "cols": px.shape[2],
            "channels": px.shape[3],
            "Manufacturer": str(ds.get("Manufacturer", "")).strip(),
            "ManufacturerModelName": str(ds.get("ManufacturerModelName", "")).strip(),
            "sum": float(px.sum()),
            "min": float(px.min()),
            "max": float(px.max()),
            "pixels": [[f, r, c, ch, float(px[f, r, c, ch])]
                       for f, r, c, ch in positions(px.shape, px)],
        })

    # Only GDCM decodes JPEG-LS here; check it against the uncompressed original instead.
    if not np.array_equal(decoded["MR_small_jpeg_ls_lossless.dcm"], decoded["MR_small.dcm"]):
        sys.exit("MR_small_jpeg_ls_lossless.dcm does not decode to MR_small.dcm's pixels")

    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)}: {len(out['files'])} files")


if __name__ == "__main__":
    main()
