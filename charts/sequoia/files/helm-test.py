"""`helm test`: ingest one sample through the API and wait until its derivatives exist.

Runs in the API image (stdlib + httpx only). The sample PNG is made here, so the test needs no files.
"""

import os
import struct
import sys
import time
import zlib

import httpx


def png(width: int = 64, height: int = 48) -> bytes:
    """A small RGB gradient PNG."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 128)) for x in range(width))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main() -> int:
    base, token = os.environ["SEQUOIA_API_URL"], os.environ["SEQUOIA_API_TOKEN"]
    deadline = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 300)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        voyage = f"helm-test-{int(time.time())}"
        answer = api.post(f"/api/voyages/{voyage}/media", files=[("files", ("sample.png", png(), "image/png"))])
        print("ingest:", answer.status_code, answer.text, flush=True)
        answer.raise_for_status()
        media_id = answer.json()["files"][0]["media_id"]
        while time.monotonic() < deadline:
            item = api.get(f"/api/media/{media_id}").json()
            if item["status"] in ("completed", "failed", "cancelled"):
                print("final:", item, flush=True)
                return 0 if item["status"] == "completed" and item["derivatives"] else 1
            time.sleep(2)
    print(f"media {media_id} not finished in time", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
