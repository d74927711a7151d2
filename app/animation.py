"""Encoding frames into an animation: WebP and GIF by Pillow, MP4 (H.264) by the ffmpeg binary that
the ``imageio-ffmpeg`` wheel ships (nothing is downloaded at run time)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence

import imageio_ffmpeg
import numpy as np
from PIL import Image

MEDIA_TYPES = {"webp": "image/webp", "gif": "image/gif", "mp4": "video/mp4"}


def encode(frames: Sequence[Image.Image], fmt: str, fps: float, scratch: str | None = None) -> bytes:
    """The frames (RGB, all one size) as an animated WebP, a GIF or an MP4 looping at ``fps`` frames a second."""
    duration = round(1000 / fps)
    if fmt == "webp":
        out = io.BytesIO()
        frames[0].save(out, "WEBP", save_all=True, append_images=list(frames[1:]), duration=duration, loop=0,
                       quality=80, method=4)
        return out.getvalue()
    if fmt == "gif":
        out = io.BytesIO()
        paletted = [f.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) for f in frames]
        paletted[0].save(out, "GIF", save_all=True, append_images=paletted[1:], duration=duration, loop=0)
        return out.getvalue()
    if fmt == "mp4":
        return _mp4(frames, fps, scratch)
    raise ValueError(f"unknown format {fmt!r}")


def _mp4(frames: Sequence[Image.Image], fps: float, scratch: str | None) -> bytes:
    """H.264 in yuv420p (what every browser plays), with the index first for streaming."""
    fd, path = tempfile.mkstemp(suffix=".mp4", dir=scratch)
    os.close(fd)
    try:
        writer = imageio_ffmpeg.write_frames(path, frames[0].size, fps=fps, codec="libx264", pix_fmt_in="rgb24",
                                             pix_fmt_out="yuv420p", macro_block_size=2, quality=8,
                                             output_params=["-movflags", "+faststart"], ffmpeg_log_level="error")
        writer.send(None)  # start ffmpeg
        for frame in frames:
            writer.send(np.ascontiguousarray(np.asarray(frame.convert("RGB"))))
        writer.close()
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)
