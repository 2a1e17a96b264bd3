"""Small binary formats the sound sources need: OpenTTD's ``.cat`` sound container, Clonk's
group files (``.ocg``/``.ocd``), Qt resource files (``.rcc``) and Standard MIDI files
(written, to render General MIDI programs with a synthesizer).

Both are tiny, documented formats; reading and writing them here avoids a dependency.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..errors import V2AError

# ---------------------------------------------------------------------------------------------
# OpenTTD .cat (base sound sets such as OpenSFX)


@dataclass(frozen=True)
class CatEntry:
    index: int
    name: str  # OpenSFX stores a description with credits and license here
    data: bytes  # the payload: a complete RIFF/WAVE file


def read_cat(data: bytes) -> list[CatEntry]:
    """The sounds of an OpenTTD ``.cat`` file.

    Layout (little-endian): a table of ``(offset, size)`` uint32 pairs; the first offset is
    also the table's length in bytes, and the new format sets bit 31 of every offset. At each
    offset: one byte ``n``, ``n`` bytes of name (NUL-terminated), then ``size`` bytes of WAV.
    """
    if len(data) < 8:
        raise V2AError("not an OpenTTD .cat file: too short")
    first = struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF
    if first % 8 or first < 8 or first > len(data):
        raise V2AError("not an OpenTTD .cat file: bad table size")
    entries = []
    for i in range(first // 8):
        offset, size = struct.unpack_from("<II", data, 8 * i)
        offset &= 0x7FFFFFFF
        if offset >= len(data):
            raise V2AError(f".cat entry {i}: offset {offset} beyond the file")
        name_len = data[offset]
        name = data[offset + 1: offset + 1 + name_len].split(b"\0", 1)[0].decode("utf-8", errors="replace")
        start = offset + 1 + name_len
        payload = data[start: start + size]
        if len(payload) != size:
            raise V2AError(f".cat entry {i}: truncated payload")
        entries.append(CatEntry(i, name.strip(), payload))
    return entries


# ---------------------------------------------------------------------------------------------
# Clonk group files (OpenClonk's .ocg/.ocd/.ocf archives)

C4GROUP_MAGIC = b"RedWolf Design GrpFolder"
C4GROUP_HEADER = 204  # id (28), Ver1, Ver2, Entries, reserved
C4GROUP_ENTRY = 316  # FileName[260], Packed, ChildGroup, Size, unused, Offset, then unused bytes


def c4_unscramble(header: bytes) -> bytes:
    """Undoes the header obfuscation: every third byte pair swapped, then XOR 237 (applied in reverse)."""
    out = bytearray(header)
    for i in range(0, len(out) - 2, 3):
        out[i], out[i + 2] = out[i + 2], out[i]
    return bytes(b ^ 237 for b in out)


def read_c4group(data: bytes) -> list[tuple[str, bytes]]:
    """``(path, bytes)`` of every file in a Clonk group, child groups walked (``Animals.ocg/Bat.ocg/Chirp.wav``).

    A group file is gzip with its magic changed to ``1E 8C``; inside, a group is a scrambled
    header (entry count at byte 36), a table of entries (name, child-group flag, size, offset
    from the end of the table) and the entries' data; a child group's data is a group again.
    """
    if data[:2] != b"\x1e\x8c":
        raise V2AError("not a Clonk group file: bad magic")
    raw = gzip.decompress(b"\x1f\x8b" + data[2:])
    return list(_c4_entries(raw, 0, ""))


def _c4_entries(raw: bytes, base: int, prefix: str) -> Iterator[tuple[str, bytes]]:
    header = c4_unscramble(raw[base: base + C4GROUP_HEADER])
    if not header.startswith(C4GROUP_MAGIC):
        raise V2AError(f"not a Clonk group at {prefix or 'top level'}")
    count = struct.unpack_from("<i", header, 36)[0]
    table = base + C4GROUP_HEADER
    data_start = table + C4GROUP_ENTRY * count
    for i in range(count):
        entry = raw[table + C4GROUP_ENTRY * i: table + C4GROUP_ENTRY * (i + 1)]
        name = entry[:260].split(b"\0", 1)[0].decode("latin-1")
        _, child, size, _, offset = struct.unpack_from("<5i", entry, 260)
        if child:
            yield from _c4_entries(raw, data_start + offset, f"{prefix}{name}/")
        else:
            yield f"{prefix}{name}", raw[data_start + offset: data_start + offset + size]


# ---------------------------------------------------------------------------------------------
# Qt resource files (GCompris' activities)


def read_qt_rcc(data: bytes) -> list[tuple[str, bytes]]:
    """``(path, bytes)`` of every file in a binary Qt resource (``rcc``) file.

    Layout (big-endian): ``qres``, version, then the offsets of the tree, the data and the
    names. Tree nodes are 14 bytes (22 from version 2 on: a modification time follows):
    name offset, flags (1 zlib, 2 directory, 4 zstd), then a directory's child count and
    first child index, or a file's locale and data offset. Names are a length, a hash and
    UTF-16 text; data are a length and the bytes (zlib ones led by the unpacked length).
    """
    if data[:4] != b"qres":
        raise V2AError("not a Qt resource file: bad magic")
    version, tree, data_start, names = struct.unpack_from(">4I", data, 4)
    node_size = 14 if version == 1 else 22

    def name(i: int) -> str:
        offset = names + struct.unpack_from(">I", data, tree + i * node_size)[0]
        length = struct.unpack_from(">H", data, offset)[0]
        return data[offset + 6: offset + 6 + 2 * length].decode("utf-16-be")

    files = []

    def walk(i: int, prefix: str) -> None:
        flags = struct.unpack_from(">H", data, tree + i * node_size + 4)[0]
        if flags & 2:
            count, first = struct.unpack_from(">2I", data, tree + i * node_size + 6)
            for child in range(first, first + count):
                walk(child, f"{prefix}{name(child)}/")
            return
        offset = data_start + struct.unpack_from(">I", data, tree + i * node_size + 10)[0]
        payload = data[offset + 4: offset + 4 + struct.unpack_from(">I", data, offset)[0]]
        if flags & 4:
            raise V2AError(f"{prefix[:-1]}: zstd-compressed resources are not supported")
        files.append((prefix[:-1], zlib.decompress(payload[4:]) if flags & 1 else payload))

    walk(0, "")
    return files


# ---------------------------------------------------------------------------------------------
# Standard MIDI files

TICKS_PER_QUARTER = 480
TEMPO_US = 500_000  # 120 bpm: 960 ticks per second
TICKS_PER_SECOND = TICKS_PER_QUARTER * 1_000_000 // TEMPO_US


@dataclass(frozen=True)
class Note:
    start: float  # seconds
    duration: float  # seconds
    pitch: int  # MIDI note number
    velocity: int = 100
    channel: int = 0  # 9 is General MIDI percussion


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def write_midi(notes: Sequence[Note], programs: dict[int, int] | None = None,
               silence_at: Sequence[float] = (), end: float | None = None) -> bytes:
    """A format-0 MIDI file playing ``notes``.

    ``programs`` maps channels to General MIDI program numbers (0-based), set at time 0;
    ``silence_at`` lists times at which every channel gets "all sound off", so a rendered
    file can be cut there without one clip's tail leaking into the next.
    """
    events: list[tuple[int, int, bytes]] = []  # (tick, order, message); note-offs before note-ons
    for channel, program in sorted((programs or {}).items()):
        events.append((0, 0, bytes([0xC0 | channel, program & 0x7F])))
    for n in notes:
        if not 0 <= n.pitch <= 127 or not 0 <= n.channel <= 15:
            raise V2AError(f"bad MIDI note {n}")
        on = round(n.start * TICKS_PER_SECOND)
        off = max(on + 1, round((n.start + n.duration) * TICKS_PER_SECOND))
        vel = max(1, min(127, int(n.velocity)))
        events.append((on, 2, bytes([0x90 | n.channel, n.pitch, vel])))
        events.append((off, 1, bytes([0x80 | n.channel, n.pitch, 0])))
    channels = sorted({n.channel for n in notes} | set((programs or {}).keys()))
    for t in silence_at:
        for ch in channels:
            events.append((round(t * TICKS_PER_SECOND), 1, bytes([0xB0 | ch, 120, 0])))  # all sound off
    last = max((e[0] for e in events), default=0)
    if end is not None:
        last = max(last, round(end * TICKS_PER_SECOND))
    events.sort(key=lambda e: (e[0], e[1]))

    track = bytearray(b"\x00\xff\x51\x03" + TEMPO_US.to_bytes(3, "big"))
    now = 0
    for tick, _, msg in events:
        track += _varlen(tick - now) + msg
        now = tick
    track += _varlen(last - now) + b"\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)
