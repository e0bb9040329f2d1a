"""Upload spools: a file stays in memory while the process's budget lasts, then moves to disk whole;
the budget is shared by every file and given back when a file is closed; a multipart body spools
whole once its last step has run."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

from sequoia_api.http.multipart import MultipartSpooler, UploadLimits
from sequoia_api.services.uploads import SpooledFile, SpoolMemory


def _read(spooled: SpooledFile) -> bytes:
    spooled.file.seek(0)
    return spooled.file.read()


def test_a_file_within_the_budget_stays_in_memory_and_gives_it_back_when_closed():
    memory = SpoolMemory(1024)
    spooled = SpooledFile("a.jpg", memory)

    spooled.write(b"x" * 600)
    spooled.write(b"y" * 400)

    assert not spooled.on_disk and memory.used == 1000
    assert _read(spooled) == b"x" * 600 + b"y" * 400
    spooled.close()
    assert memory.used == 0


def test_a_file_past_the_budget_moves_to_disk_whole_and_frees_its_share(tmp_path):
    memory = SpoolMemory(1000)
    first, second = SpooledFile("a.jpg", memory, tmp_path), SpooledFile("b.jpg", memory, tmp_path)
    first.write(b"a" * 700)

    second.write(b"b" * 200)
    second.write(b"c" * 200)  # 700 + 400 > 1000: the second file goes to disk, with what it had

    assert second.on_disk and not first.on_disk
    assert memory.used == 700
    assert _read(second) == b"b" * 200 + b"c" * 200
    assert second.size == 400 and second.digest.digest() == hashlib.sha256(b"b" * 200 + b"c" * 200).digest()
    second.write(b"d")  # stays on disk, takes nothing
    assert memory.used == 700
    first.close()
    second.close()
    assert memory.used == 0


def test_no_budget_spools_every_file_to_disk():
    memory = SpoolMemory(0)
    spooled = SpooledFile("a.jpg", memory)

    spooled.write(b"z" * 10)

    assert spooled.on_disk and memory.used == 0 and _read(spooled) == b"z" * 10
    spooled.close()


def _multipart(boundary: str, files: dict[str, bytes]) -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
             f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
             for name, data in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def test_a_body_received_then_finished_gives_every_file_whole_hashed_and_rewound():
    files = {"a.jpg": os.urandom(1536 * 1024), "b.jpg": os.urandom(300 * 1024)}  # past a flush, and a tail
    body = _multipart("edge", files)
    spooler = MultipartSpooler(UploadLimits(10, 10, SpoolMemory(16 * 1024 * 1024)))

    async def chunks() -> AsyncIterator[bytes]:
        for begin in range(0, len(body), 65536):
            yield body[begin:begin + 65536]

    spooled = asyncio.run(spooler.receive("multipart/form-data; boundary=edge", chunks()))
    assert [f.filename for f in spooled] == list(files)
    assert spooled[1].size < len(files["b.jpg"])  # its last bytes wait for `finish`, in the caller's hop
    spooler.finish()

    for f, data in zip(spooled, files.values(), strict=True):
        assert (f.size, f.digest.hexdigest(), f.file.read()) == (len(data), hashlib.sha256(data).hexdigest(), data)
    spooler.close()
