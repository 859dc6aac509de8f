"""Photos attached to complaints and suggestions: checked, cleaned and made small.

A resident's photo is accepted only if it decodes in full as JPEG, PNG or WebP (recognised by
its content, never by its name) within ``MAX_PHOTO_BYTES`` and ``MAX_IMAGE_PIXELS``. What is
kept is a new JPEG: orientation applied (EXIF Orientation), colours converted to sRGB, at most
``MAX_SIDE`` pixels on its long side, transparent parts on white, and **no metadata at all** —
no EXIF (a phone's GPS position is the resident's home), no XMP, no comment, no ICC profile.
A thumbnail of at most ``THUMB_SIDE`` pixels goes with it.

Pillow facts this relies on (Pillow 11–13, see research 14 §3):

- ``verify()`` checks nothing for JPEG: a full ``load()`` is the integrity check.
- A JPEG save writes EXIF, ICC and XMP only when passed, but takes the COM comment from
  ``im.info``; a PNG save takes the ICC profile from ``im.info``. Hence ``im.info.clear()``
  before saving, and never ``exif=``.
- ``draft()`` makes libjpeg decode at 1/2, 1/4 or 1/8 scale, asked for explicitly, which is
  what keeps a 12 MP phone photo near 150 ms of CPU.

HEIC (iPhone's default) is refused with its own code and advice: decoding it costs about 1.3 s
of CPU and a GPL-licensed plugin, and browsers already convert it to JPEG on upload.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile

from participation.common.errors import ApiError

MAX_PHOTO_BYTES = 10 * 2**20
MAX_IMAGE_PIXELS = 50_000_000
MAX_SIDE = 2048
THUMB_SIDE = 400
QUALITY = 85
THUMB_QUALITY = 80
FORMATS = ("JPEG", "PNG", "WEBP")
# ISO BMFF major brands of HEIF/HEIC files (bytes 8–12, after "ftyp" at 4–8)
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})

# Every way Pillow says "this is not a (whole, sane) image"
_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

STATUS = {
    "file_too_large": 413,
    "not_an_image": 415,
    "heic_not_supported": 415,
    "image_too_large": 422,
}
NOT_AN_IMAGE = "不是照片：只能上传 JPEG、PNG 或 WebP 格式的照片"


class PhotoRefused(Exception):
    """A photo that cannot be accepted: ``code`` is stable (see ``STATUS``), ``message`` is
    for the resident, in Chinese. Routes turn it into the JSON error with
    :func:`refused_error`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 422)


def refused_error(exc: PhotoRefused) -> ApiError:
    """The project's JSON error for a refused photo: 413 too large a file, 415 not a photo
    (or HEIC), 422 too many pixels. ``errors`` names the field ``photos``."""
    return ApiError(exc.status, exc.code, exc.message, {"photos": [exc.message]})


@dataclass(frozen=True)
class ProcessedPhoto:
    """The photo as kept: ``image`` and ``thumbnail`` are JPEG bytes without metadata;
    ``width``/``height`` are the image's and ``sha256`` is the hex digest of ``image``."""

    image: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    content_type: str = "image/jpeg"


def is_heif(data: bytes) -> bool:
    """Whether ``data`` starts like a HEIF/HEIC file (an ISO BMFF ``ftyp`` box with a HEIF
    brand), the format iPhones save in by default."""
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


def process_photo(data: bytes) -> ProcessedPhoto:
    """Check, clean and reduce an uploaded photo; raise :class:`PhotoRefused` if it cannot be
    accepted.

    Codes: ``file_too_large`` (over ``MAX_PHOTO_BYTES``), ``heic_not_supported``,
    ``not_an_image`` (anything that does not decode in full as JPEG, PNG or WebP, truncated
    files included) and ``image_too_large`` (over ``MAX_IMAGE_PIXELS``: a decompression bomb).
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("file_too_large", "照片过大：每张照片不能超过 10 MB")
    if is_heif(data):
        raise PhotoRefused(
            "heic_not_supported",
            "暂不支持 HEIC 格式的照片。请在手机的「设置 → 相机 → 格式」中选择「兼容性最佳」"
            "（即 JPEG）后重新拍摄，或把照片截屏后上传截图。",
        )
    im = _decode(data)
    # On the reduced image (cheap); it reads EXIF from info. Unreadable EXIF: the pixels are
    # fine, keep them as stored.
    with contextlib.suppress(*_DECODE_ERRORS):
        im = ImageOps.exif_transpose(im)
    im = _to_srgb(im)
    im.info.clear()  # else JPEG keeps the COM comment (and PNG the ICC profile)
    thumb = im.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    image = _jpeg(im, QUALITY)
    return ProcessedPhoto(
        image=image,
        thumbnail=_jpeg(thumb, THUMB_QUALITY),
        width=im.width,
        height=im.height,
        sha256=hashlib.sha256(image).hexdigest(),
    )


def _decode(data: bytes) -> Image.Image:
    """Open (JPEG, PNG or WebP only), check the pixel count, decode in full — at a reduced
    DCT scale for a large JPEG — and reduce to at most ``MAX_SIDE`` on the long side."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit (89 MP) and raises above twice that; ours is
            # lower and checked below, this only makes sure a warning can never pass. (The
            # filter is process-wide while it lasts; a thread that misses it still meets the
            # explicit check, so Pillow's global MAX_IMAGE_PIXELS is left alone.)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=FORMATS)
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombError(f"{im.width}x{im.height}")
            if isinstance(im, JpegImageFile):  # MPO too (iPhone HDR photos carry a gain map)
                scale = _draft_scale(im.size)
                if scale > 1:
                    im.draft(None, (im.width // scale, im.height // scale))
            im.load()  # the real integrity check: a truncated file raises here
            if max(im.size) > MAX_SIDE:
                im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BICUBIC, reducing_gap=None)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRefused(
            "image_too_large",
            f"照片像素过多：不能超过 {MAX_IMAGE_PIXELS // 10_000} 万像素，请缩小后再上传",
        ) from exc
    except _DECODE_ERRORS as exc:
        raise PhotoRefused("not_an_image", NOT_AN_IMAGE) from exc
    return im


def _draft_scale(size: tuple[int, int]) -> int:
    """The largest DCT scale (8, 4 or 2) that still leaves the long side at least 3/4 of
    ``MAX_SIDE`` (the rest is resampled), or 1: 4000×3000 decodes at 1/2 as 2000×1500."""
    return next((s for s in (8, 4, 2) if max(size) / s >= 0.75 * MAX_SIDE), 1)


def _to_srgb(im: Image.Image) -> Image.Image:
    """An RGB (or L) image in sRGB: transparent parts pasted on white, the ICC profile (if
    any, and not already sRGB) applied. A profile that cannot be used is ignored."""
    icc = im.info.get("icc_profile")
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        im = Image.new("RGB", rgba.size, "white")
        im.paste(rgba, mask=rgba.getchannel("A"))
    elif im.mode == "I" or im.mode.startswith("I;16"):  # 16-bit grey: scale, do not clip
        im = im.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif im.mode not in ("RGB", "L", "CMYK"):
        try:
            im = im.convert("RGB")
        except ValueError as exc:  # a mode Pillow cannot convert (e.g. some 16-bit ones)
            raise PhotoRefused("not_an_image", NOT_AN_IMAGE) from exc
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if im.mode == "CMYK" or not ImageCms.getProfileDescription(profile).startswith("sRGB"):
                im = ImageCms.profileToProfile(im, profile, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or mismatched profile: keep the pixels as they are
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    return im


def _jpeg(im: Image.Image, quality: int) -> bytes:
    """JPEG bytes with no metadata argument (EXIF, ICC, XMP, comment, dpi) at all."""
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
