"""Upload spools: a file stays in memory while the process's budget lasts, then moves to disk whole;
the budget is shared by every file and given back when a file is closed."""

from __future__ import annotations

import hashlib

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
