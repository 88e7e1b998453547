"""Measure how large a compressed body inflates to, in bounded memory, before anything decodes it whole.

A gzip or brotli "bomb" is a few kilobytes on the wire and gigabytes once decoded; mitmproxy's own
``get_text()`` decodes in one piece, so the addon asks here first and skips a body that would inflate
past its size limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import brotli
import zstandard

CHUNK = 64 * 1024


class InflateError(ValueError):
    """The body does not decode with the encoding its headers claim."""


def _zlib_chunks(raw: bytes, wbits: int) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits)
    data = raw
    while data and not decompressor.eof:
        yield decompressor.decompress(data, CHUNK)
        data = decompressor.unconsumed_tail
    yield decompressor.flush(CHUNK)


def _deflate_chunks(raw: bytes) -> Iterator[bytes]:
    # "deflate" is zlib-wrapped by the RFC and raw deflate in practice; mitmproxy accepts both.
    try:
        yield from _zlib_chunks(raw, zlib.MAX_WBITS)
    except zlib.error:
        yield from _zlib_chunks(raw, -zlib.MAX_WBITS)


def _brotli_chunks(raw: bytes) -> Iterator[bytes]:
    decompressor = brotli.Decompressor()
    yield decompressor.process(raw, output_buffer_limit=CHUNK)
    while not decompressor.is_finished() and not decompressor.can_accept_more_data():
        yield decompressor.process(b"", output_buffer_limit=CHUNK)


def _zstd_chunks(raw: bytes) -> Iterator[bytes]:
    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    while chunk := reader.read(CHUNK):
        yield chunk


_DECODERS: dict[str, Callable[[bytes], Iterator[bytes]]] = {
    "gzip": lambda raw: _zlib_chunks(raw, 16 + zlib.MAX_WBITS),
    "x-gzip": lambda raw: _zlib_chunks(raw, 16 + zlib.MAX_WBITS),
    "deflate": _deflate_chunks,
    "br": _brotli_chunks,
    "zstd": _zstd_chunks,
}


def inflated_size_within(raw: bytes, content_encoding: str, limit: int) -> bool:
    """True when ``raw``, decoded per its ``Content-Encoding``, is at most ``limit`` bytes.

    Decodes chunk by chunk and stops as soon as the limit is passed, so memory stays at about one chunk
    whatever the ratio. Stacked encodings (``gzip, br``) are not measured and count as too large.
    Raises ``InflateError`` when the body does not decode.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity", "none"):
        return len(raw) <= limit
    decoder = _DECODERS.get(encoding)
    if decoder is None:
        return False
    size = 0
    try:
        for chunk in decoder(raw):
            size += len(chunk)
            if size > limit:
                return False
    except (zlib.error, brotli.error, zstandard.ZstdError) as e:
        raise InflateError(f"body does not decode as {encoding!r}: {e}") from None
    return True
