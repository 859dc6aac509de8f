"""Ticket photos: no metadata survives (GPS above all), orientation is applied, transparency
lands on white, large photos shrink, and everything that is not a whole JPEG, PNG or WebP is
refused with a stable code and a Chinese message."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, features

from participation.common.errors import error_payload
from participation.feedback import photos
from participation.feedback.photos import (
    MAX_PHOTO_BYTES,
    PhotoRefused,
    ProcessedPhoto,
    process_photo,
    refused_error,
)
from participation.feedback.storage import LocalDiskStorage, store_photos

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="39,54.45N" '
    b'exif:GPSLongitude="116,23.83E"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
RED, BLUE = (220, 20, 20), (20, 20, 220)


def gps_exif(orientation: int = 6) -> Image.Exif:
    """EXIF as a phone writes it: camera, orientation and a GPS position (天安门)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "Phone 15"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.DateTime] = "2026:12:06 10:00:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 50.0)
    return exif


def phone_jpeg(size=(400, 300), orientation: int = 6, icc: bytes = SRGB_ICC) -> bytes:
    """A blue photo with a red top-left corner, carrying GPS EXIF, a comment, XMP and ICC."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 4, size[1] // 4))
    out = io.BytesIO()
    im.save(
        out,
        "JPEG",
        quality=92,
        exif=gps_exif(orientation),
        comment=b"secret comment",
        xmp=XMP,
        icc_profile=icc,
    )
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.format == "JPEG"
    return im


def assert_no_metadata(data: bytes) -> None:
    im = opened(data)
    assert not im.getexif()
    assert set(im.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "progressive"}
    for marker in (b"Exif", b"TestCam", b"secret", b"xmpmeta", b"ns.adobe.com", b"ICC_PROFILE"):
        assert marker not in data, marker


def close(a, b, tolerance=40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_the_source_really_carries_metadata():
    data = phone_jpeg()
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert source.info["comment"] == b"secret comment"
    assert "icc_profile" in source.info and b"xmpmeta" in data


def test_all_metadata_is_stripped_from_image_and_thumbnail():
    photo = process_photo(phone_jpeg())
    assert isinstance(photo, ProcessedPhoto)
    assert photo.content_type == "image/jpeg"
    assert_no_metadata(photo.image)
    assert_no_metadata(photo.thumbnail)


def test_orientation_is_applied():
    photo = process_photo(phone_jpeg((400, 300), orientation=6))
    im = opened(photo.image).convert("RGB")
    assert (photo.width, photo.height) == im.size == (300, 400)
    # Orientation 6: the stored image is shown turned 90° clockwise, so the red top-left
    # corner of the stored pixels is the top-right corner of the photo as seen.
    assert close(im.getpixel((im.width - 10, 10)), RED)
    assert close(im.getpixel((10, 10)), BLUE)
    assert close(im.getpixel((10, im.height - 10)), BLUE)
    assert close(im.getpixel((im.width - 10, im.height - 10)), BLUE)


def test_without_orientation_nothing_turns():
    photo = process_photo(phone_jpeg((400, 300), orientation=1))
    im = opened(photo.image).convert("RGB")
    assert im.size == (400, 300)
    assert close(im.getpixel((10, 10)), RED)


def test_sha256_and_sizes():
    import hashlib

    photo = process_photo(phone_jpeg())
    assert photo.sha256 == hashlib.sha256(photo.image).hexdigest()
    assert max(opened(photo.thumbnail).size) <= 400


def test_png_with_alpha_lands_on_white():
    im = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    im.paste((200, 0, 0, 255), (0, 0, 100, 100))
    out = io.BytesIO()
    exif = gps_exif(1)
    im.save(out, "PNG", exif=exif, icc_profile=SRGB_ICC)
    photo = process_photo(out.getvalue())
    assert_no_metadata(photo.image)
    result = opened(photo.image).convert("RGB")
    assert result.size == (200, 100)
    assert close(result.getpixel((150, 50)), (255, 255, 255), 8)  # transparent → white
    assert close(result.getpixel((50, 50)), (200, 0, 0))


def test_palette_png_with_transparency():
    im = Image.new("P", (64, 64), 0)
    im.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    im.paste(1, (0, 0, 32, 64))
    out = io.BytesIO()
    im.save(out, "PNG", transparency=0)
    result = opened(process_photo(out.getvalue()).image).convert("RGB")
    assert close(result.getpixel((48, 32)), (255, 255, 255), 8)
    assert close(result.getpixel((16, 32)), (0, 200, 0))


@pytest.mark.parametrize(
    ("mode", "colour", "expected"),
    [
        ("L", 128, (128, 128, 128)),
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
        ("I;16", 32768, (128, 128, 128)),
        ("LA", (100, 128), (177, 177, 177)),
    ],
)
def test_other_modes(mode, colour, expected):
    im = Image.new(mode, (80, 60), colour)
    out = io.BytesIO()
    im.save(out, "JPEG" if mode in ("L", "CMYK") else "PNG")
    result = opened(process_photo(out.getvalue()).image)
    assert result.mode in ("RGB", "L")
    assert close(result.convert("RGB").getpixel((40, 30)), expected, 4)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp():
    im = Image.new("RGB", (320, 240), RED)
    out = io.BytesIO()
    im.save(out, "WEBP", quality=90, exif=gps_exif(1), icc_profile=SRGB_ICC)
    photo = process_photo(out.getvalue())
    assert (photo.width, photo.height) == (320, 240)
    assert_no_metadata(photo.image)
    assert close(opened(photo.image).convert("RGB").getpixel((160, 120)), RED)


@pytest.mark.parametrize(
    ("size", "kind"),
    [((6000, 4000), "JPEG"), ((4000, 3000), "JPEG"), ((3000, 2100), "JPEG"), ((5000, 1000), "PNG")],
)
def test_large_photos_shrink_keeping_their_aspect(size, kind):
    im = Image.new("RGB", size, BLUE)
    out = io.BytesIO()
    im.save(out, kind)
    photo = process_photo(out.getvalue())
    assert max(photo.width, photo.height) <= 2048
    assert max(photo.width, photo.height) >= 1536
    assert abs(photo.width / photo.height - size[0] / size[1]) < 0.01
    thumb = opened(photo.thumbnail)
    assert max(thumb.size) <= 400
    assert abs(thumb.width / thumb.height - size[0] / size[1]) < 0.02
    assert opened(photo.image).size == (photo.width, photo.height)


def test_a_multi_picture_jpeg_is_read_at_reduced_scale(monkeypatch):
    # MPO: a JPEG with more pictures after the first (iPhone's HDR gain map, Samsung's depth)
    first, second = Image.new("RGB", (4000, 3000), RED), Image.new("RGB", (4000, 3000), BLUE)
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    drafts = []
    original = photos.JpegImageFile.draft
    monkeypatch.setattr(
        photos.JpegImageFile,
        "draft",
        lambda self, mode, size: drafts.append(size) or original(self, mode, size),
    )
    photo = process_photo(out.getvalue())
    assert drafts == [(2000, 1500)]
    assert (photo.width, photo.height) == (2000, 1500)
    assert close(opened(photo.image).convert("RGB").getpixel((10, 10)), RED)


def test_a_non_srgb_profile_is_converted_then_dropped():
    profile = Path("/usr/share/color/icc/ghostscript/a98.icc")  # Adobe RGB (1998)
    if not profile.exists():
        pytest.skip("no Adobe RGB profile on this machine")
    im = Image.new("RGB", (64, 64), (60, 160, 60))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=95, icc_profile=profile.read_bytes())
    photo = process_photo(out.getvalue())
    assert_no_metadata(photo.image)
    r, g, b = opened(photo.image).convert("RGB").getpixel((32, 32))
    # Adobe RGB's greens are more saturated than sRGB's: in sRGB this one has no red left
    assert r < 20 and 150 < g < 170 and 35 < b < 60


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (no pixel data to speak of)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    data = phone_jpeg((800, 600))
    return data[: len(data) // 2]


REFUSED = {
    "truncated JPEG": (truncated_jpeg, "not_an_image", 415),
    "text renamed .jpg": (
        lambda: "这是一个文本文件，不是照片。\n".encode() * 20,
        "not_an_image",
        415,
    ),
    "empty": (lambda: b"", "not_an_image", 415),
    "GIF": (
        lambda: b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!",
        "not_an_image",
        415,
    ),
    "HEIC": (
        lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200,
        "heic_not_supported",
        415,
    ),
    "HEIF mif1": (
        lambda: b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heic" + b"\x00" * 200,
        "heic_not_supported",
        415,
    ),
    "11 MB": (lambda: b"\xff\xd8\xff\xe0" + b"\0" * (11 * 2**20), "file_too_large", 413),
    "20000×20000 PNG": (lambda: png_header(20000, 20000), "image_too_large", 422),
    "8000×7000 PNG (56 MP)": (lambda: png_header(8000, 7000), "image_too_large", 422),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused(name, tmp_path):
    make, code, status = REFUSED[name]
    storage = LocalDiskStorage(tmp_path)
    with pytest.raises(PhotoRefused) as caught:
        store_photos(storage, [process_photo(make())])
    refused = caught.value
    assert refused.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.message)  # in Chinese
    assert list(tmp_path.iterdir()) == []  # nothing written
    error = refused_error(refused)
    assert error.code == status
    body, _ = error_payload(error)
    assert body["code"] == code and body["message"] == refused.message


def test_messages():
    with pytest.raises(PhotoRefused) as caught:
        process_photo(b"plain text")
    assert caught.value.message == "不是照片：只能上传 JPEG、PNG 或 WebP 格式的照片"
    with pytest.raises(PhotoRefused) as caught:
        process_photo(b"\0" * (MAX_PHOTO_BYTES + 1))
    assert "10 MB" in caught.value.message
    with pytest.raises(PhotoRefused) as caught:
        process_photo(b"\x00\x00\x00\x18ftypheix" + b"\0" * 100)
    assert "兼容性最佳" in caught.value.message and "截" in caught.value.message


def test_exactly_the_limit_is_still_read():
    data = phone_jpeg((64, 64))
    padded = data + b"\0" * (MAX_PHOTO_BYTES - len(data))  # bytes after EOI are ignored
    assert len(padded) == MAX_PHOTO_BYTES
    assert process_photo(padded).width == 64
    assert photos.MAX_IMAGE_PIXELS == 50_000_000
