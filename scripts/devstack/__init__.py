"""Development tooling: the local stack (`make up`/`down`) and the SeaweedFS S3 used by it and the tests."""
