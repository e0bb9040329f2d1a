"""The local stack's SeaweedFS holds what a demo and the test suites bring: many buckets (a collection
each, several volumes each) and large objects, and it says how much room is left."""

from __future__ import annotations

import secrets

from scripts.devstack import seaweed


def test_many_buckets_and_a_large_object_fit_and_the_room_is_reported(tmp_path):
    gateway = seaweed.start(tmp_path / "weed", "room-test", secrets.token_urlsafe(16))
    try:
        gateway.wait_ready()
        s3 = gateway.client()
        # 50 volumes of 64 MB ran out after a handful of buckets: each grows its own volumes.
        for n in range(12):
            s3.create_bucket(Bucket=f"room-{n}")
            s3.put_object(Bucket=f"room-{n}", Key="a.jpg", Body=b"x" * 1024)
        s3.put_object(Bucket="room-0", Key="video.mp4", Body=secrets.token_bytes(200 * 1024**2))

        assert s3.head_object(Bucket="room-0", Key="video.mp4")["ContentLength"] == 200 * 1024**2
        assert "GiB free for S3 objects" in seaweed.room(tmp_path / "weed")
    finally:
        seaweed.stop(gateway.process)
