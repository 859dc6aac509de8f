"""Ticket photo benchmark: one phone photo through ``feedback.photos.process_photo``.

    .venv/bin/python bench/ticket_photos.py [--runs 15] [--icc srgb|adobe]

Makes a 4000×3000 JPEG at quality 92 as a phone sends it — noisy content (so it compresses
like a real photo), EXIF with camera, Orientation=6 and a GPS position, an ICC profile, XMP and a
COM comment — then times ``process_photo`` over N runs in CPU time (``time.process_time``) and
wall time, and prints min/median/max and the output sizes. ``--icc adobe`` tags the photo Adobe
RGB (1998) instead of sRGB, so the colour conversion runs too (skipped for sRGB sources).
Target: under 300 ms of CPU per photo. Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import ExifTags, Image, ImageCms, ImageFilter

from participation.feedback.photos import process_photo

ADOBE_RGB = Path("/usr/share/color/icc/ghostscript/a98.icc")
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def phone_photo(icc: str) -> bytes:
    """A 4000×3000 q92 JPEG with smooth areas and fine detail, GPS EXIF, ICC, XMP, COM."""
    base = Image.effect_mandelbrot((4000, 3000), (-2.2, -1.2, 1.0, 1.2), 60).convert("L")
    noise = Image.effect_noise((4000, 3000), 40).filter(ImageFilter.GaussianBlur(1))
    im = Image.merge("RGB", (base, noise, Image.blend(base, noise, 0.5)))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "Phone 15"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 50.0)
    if icc == "adobe":
        profile = ADOBE_RGB.read_bytes()
    else:
        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    im.save(out, "JPEG", quality=92, exif=exif, icc_profile=profile, xmp=XMP, comment=b"secret")
    return out.getvalue()


def spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"min {min(ms):6.0f}  median {statistics.median(ms):6.0f}  max {max(ms):6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--icc", choices=("srgb", "adobe"), default="srgb")
    args = parser.parse_args()
    if args.icc == "adobe" and not ADOBE_RGB.exists():
        sys.exit(f"no {ADOBE_RGB} on this machine")
    data = phone_photo(args.icc)
    print(f"input:          4000×3000 JPEG q92, {len(data) / 2**20:.2f} MB, ICC {args.icc}")
    process_photo(data)  # warm-up: imports, profile set-up
    cpu, wall = [], []
    for _ in range(args.runs):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        photo = process_photo(data)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    print(f"runs:           {args.runs}")
    print(f"CPU time:       {spread(cpu)}  (target < 300 ms)")
    print(f"wall time:      {spread(wall)}")
    print(f"image:          {photo.width}×{photo.height} JPEG, {len(photo.image) / 1024:.0f} KB")
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    size = len(photo.thumbnail) / 1024
    print(f"thumbnail:      {thumb.width}×{thumb.height} JPEG, {size:.0f} KB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
