"""Reading an HTTP answer's body: decoded here, a bounded piece at a time, and parsed as JSON.

A few KB of compressed body can unpack to gigabytes, so the client asks only for the encodings
decoded here (`ACCEPT_ENCODING`) and refuses an answer past `MAX_RESPONSE_BYTES`, raw or decoded.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import httpx

#: Larger answers are refused: 10,000 keys take about 3 MB.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: What the client asks for: the one-layer encodings it decodes itself, bounded (`read_capped`).
ACCEPT_ENCODING = "gzip, deflate"


class TooLarge(Exception):
    """The answer exceeds MAX_RESPONSE_BYTES; its text says how (" once decoded")."""


class BadEncoding(Exception):
    """The answer's Content-Encoding is one oz-keys does not accept."""


class Undecodable(Exception):
    """The answer's compressed body is corrupt."""


async def read_capped(response: httpx.Response) -> bytes:
    """The answer's body, decoded, refused once it passes MAX_RESPONSE_BYTES. The raw bytes are
    decoded here, a bounded piece at a time, rather than by httpx, which unpacks each chunk (and
    each stacked encoding) whole before anyone can count it: a few KB can unpack to gigabytes."""
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > MAX_RESPONSE_BYTES:
        raise TooLarge("")
    if response.is_stream_consumed:
        # An in-process transport (httpx.MockTransport) hands over an answer already read and
        # decoded: there is nothing left to bound but its size.
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise TooLarge(" once decoded")
        return response.content
    encodings = response.headers.get_list("Content-Encoding", split_commas=True)
    decoder = _body_decoder(encodings)
    chunks: list[bytes] = []
    size = 0
    # What was sent counts too: a compressed stream can say nothing for ever (empty deflate
    # blocks), or go on after its end, where zlib would keep every byte (`unused_data`).
    sent = 0
    # Nothing decoded yet (raw deflate is told from zlib-wrapped by its first bytes).
    first = True

    def take(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if size > MAX_RESPONSE_BYTES:
            raise TooLarge(" once decoded" if decoder is not None else "")
        chunks.append(piece)

    async for chunk in response.aiter_raw():
        sent += len(chunk)
        if sent > MAX_RESPONSE_BYTES:
            raise TooLarge("")
        if decoder is None:
            take(chunk)
            continue
        data = chunk
        while data and not decoder.eof:  # bytes after the stream's end are not the answer
            try:
                piece = decoder.decompress(data, MAX_RESPONSE_BYTES - size + 1)
            except zlib.error:
                if not (first and _is_deflate(encodings)):
                    raise Undecodable from None
                # Some servers send deflate raw, without its zlib wrapper (httpx accepts it):
                # the same bytes again, from their start, as raw deflate.
                decoder, first = zlib.decompressobj(wbits=-zlib.MAX_WBITS), False
                continue
            first = False
            take(piece)
            data = decoder.unconsumed_tail
    if decoder is not None:
        try:
            take(decoder.flush())
        except zlib.error:
            raise Undecodable from None
        if not decoder.eof:  # cut short: what was decoded is not the whole answer
            raise Undecodable
    return b"".join(chunks)


#: zlib's `wbits` for each encoding oz-keys decodes (deflate is zlib-wrapped, as RFC 9110 says).
#: zlib's `wbits` for each encoding oz-keys decodes (deflate is zlib-wrapped, as RFC 9110 says).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _is_deflate(encodings: list[str]) -> bool:
    return [e.strip().lower() for e in encodings if e.strip().lower() not in ("", "identity")] == [
        "deflate"
    ]


def _body_decoder(encodings: list[str]) -> Any:
    """A zlib decompressor for the one encoding named, None for none; `BadEncoding` for more
    than one layer or one oz-keys does not decode."""
    layers = [e.strip().lower() for e in encodings if e.strip().lower() not in ("", "identity")]
    if not layers:
        return None
    if len(layers) > 1:
        raise BadEncoding(f"uses stacked encodings ({_shown(', '.join(layers))})")
    if layers[0] not in _WBITS:
        raise BadEncoding(f"uses the encoding {_shown(layers[0])!r}")
    return zlib.decompressobj(wbits=_WBITS[layers[0]])


def _shown(text: str, limit: int = 40) -> str:
    """A header's words as a message may quote them: shortened (the CLI and the panel make them
    inert)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


NOT_JSON = object()


def json_or_none(content: bytes) -> Any:
    """The decoded JSON value, or `NOT_JSON`. Deeply nested or huge-number input counts as not
    JSON rather than crashing the parser."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return NOT_JSON
