"""Deterministic S3 keys: the same item always writes the same objects."""

from uuid import UUID

from sequoia_core.storage import derivative_key, original_key

MEDIA = UUID("12345678-1234-5678-1234-567812345678")


def test_original_key_never_contains_the_uploaded_name():
    assert original_key("voyage-1", MEDIA, "jpg") == f"originals/voyage-1/{MEDIA}/original.jpg"


def test_derivative_key_is_a_function_of_item_and_name():
    assert derivative_key("voyage-1", MEDIA, "thumbnail", "jpg") == f"derivatives/voyage-1/{MEDIA}/thumbnail.jpg"
    assert derivative_key("voyage-1", MEDIA, "thumbnail", "jpg") == derivative_key("voyage-1", MEDIA, "thumbnail", "jpg")
