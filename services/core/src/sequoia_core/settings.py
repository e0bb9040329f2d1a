"""One settings object for every Sequoia process, read from the environment and `.env` once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sequoia_core.recipes import Recipe, check_recipes, default_recipes


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything a Sequoia process can be told. Helm values → container env → this object."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # -- behaviour
    async_thumbnails: bool = True
    sync_wait_timeout_seconds: float = Field(default=120.0, gt=0)

    # -- services
    redis_url: str = "redis://127.0.0.1:6379/0"
    # With rediss://: how the server's certificate is checked, and against which CA bundle (unset: the system's).
    redis_tls_cert_reqs: Literal["required", "optional", "none"] = "required"
    redis_tls_ca_file: Path | None = None
    # Redis behind Sentinel (docs/capacity.md): the sentinels as host:port,... find the master named
    # REDIS_SENTINEL_MASTER; REDIS_URL then gives only the password and the db. Empty: REDIS_URL's host.
    redis_sentinels: Annotated[list[str], NoDecode] = []
    redis_sentinel_master: str = "mymaster"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/sequoia"
    db_pool_max_size: int = 8
    migrations_dir: Path = Path("migrations")
    s3_endpoint_url: str | None = None
    s3_public_endpoint_url: str | None = None
    s3_bucket: str = "sequoia-media"
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = Field(default=None, validation_alias="AWS_ACCESS_KEY_ID")
    s3_secret_access_key: SecretStr | None = Field(default=None, validation_alias="AWS_SECRET_ACCESS_KEY")
    s3_create_bucket: bool = False
    presign_expiry_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    # -- workers (the knobs of scripts/start_celery_worker.sh)
    worker_concurrency: int = Field(default=2, ge=1)
    # A pool process decodes nothing (the render server's forked jobs do) and keeps a flat RSS, so it
    # is recycled rarely: each recycling restarts its render server, 0.5 s of CPU (docs/capacity.md).
    worker_max_tasks_per_child: int = Field(default=1000, ge=1)
    worker_prefetch_multiplier: int = Field(default=1, ge=1)
    task_time_limit_seconds: int = Field(default=1800, ge=10)
    task_soft_time_limit_seconds: int | None = None
    visibility_timeout_seconds: int | None = None
    # Transient errors retry with exponential backoff and "equal jitter" (each wait at least half its
    # step), so 8 retries ride out an outage of 4 to 8 minutes before the item fails with the error's code.
    task_max_retries: int = Field(default=8, ge=0)
    task_retry_backoff_seconds: float = Field(default=2.0, gt=0)
    task_retry_backoff_max_seconds: float = Field(default=600.0, gt=0)
    # A retry whose publish fails (Redis away for a moment) is tried again this long before its delivery
    # goes back to the queue (docs/faults.md).
    task_retry_publish_patience_seconds: float = Field(default=20.0, gt=0)
    # The main process touches this file while it consumes (the chart's probes check its age); unset: off.
    worker_heartbeat_file: Path | None = None
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)

    # -- derivatives (docs/engines.md): the recipes, as JSON; unset, the two default recipes are made
    # from the four older settings below (kept for compatibility: they shape nothing else).
    derivative_recipes: tuple[Recipe, ...] | None = None
    preview_long_edge: int = Field(default=1280, ge=16)
    thumbnail_long_edge: int = Field(default=320, ge=16)
    output_format: Literal["jpeg", "webp", "avif"] = "jpeg"
    output_quality: int = Field(default=85, ge=1, le=100)
    # -- the front door (docs/security.md): bodies are bounded while they stream, uploads spool to memory (bounded), then disk
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    max_json_bytes: int = Field(default=1024**2, ge=1024)
    max_upload_files: int = Field(default=100, ge=1)
    max_upload_fields: int = Field(default=16, ge=0)
    # Upload bytes the API process keeps in memory at once; past it files spool to UPLOAD_SPOOL_DIR.
    upload_memory_bytes: int = Field(default=8 * 1024**2, ge=0)
    upload_spool_dir: Path | None = None
    body_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    # A connection whose request line and headers are not complete this long after it opens (or after
    # its last response) is closed: uvicorn itself only times out a keep-alive connection that sends nothing.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # Where pipelines may put objects to register; `{voyage}` is the voyage of the call.
    register_prefixes: Annotated[list[str], NoDecode] = ["incoming/{voyage}/"]
    # Direct uploads to S3 (POST /api/voyages/{slug}/uploads): one presigned PUT below the threshold,
    # multipart with presigned part URLs above it. S3 takes parts of 5 MiB to 5 GiB, at most 10,000.
    upload_multipart_threshold_bytes: int = Field(default=100 * 1024**2, ge=5 * 1024**2)
    upload_part_size_bytes: int = Field(default=64 * 1024**2, ge=5 * 1024**2, le=5 * 1024**3)
    # The URLs' lifetime; an upload not completed by then is aborted on beat (at most 7 days: SigV4's limit).
    upload_expiry_seconds: int = Field(default=86400, ge=300, le=7 * 24 * 3600)

    # -- derivative engines (worker-thumbnails; docs/engines.md)
    image_engine: Literal["auto", "pillow", "vips"] = "auto"
    render_time_limit_seconds: float = Field(default=300.0, gt=0)
    render_memory_limit_mb: int = Field(default=2048, ge=32)
    max_image_pixels: int = Field(default=100_000_000, ge=1)
    max_media_duration_seconds: float = Field(default=6 * 3600, gt=0)
    waveform_width: int = Field(default=1800, ge=16)
    waveform_height: int = Field(default=280, ge=16)

    # -- back-pressure, health and recovery
    ingest_max_queue_depth: int = Field(default=10_000, ge=0)
    health_max_queue_age_seconds: int = Field(default=900, ge=1)
    stuck_after_seconds: int | None = None
    max_attempts: int = Field(default=3, ge=1)
    sweep_interval_seconds: float = Field(default=15.0, gt=0)
    # Worker liveness (sequoia_core/liveness.py), cluster-wide in Redis, apart from the pod probe's
    # heartbeat file: each worker refreshes its key this often; an item held by a worker (or pool
    # process) unseen for `worker_lost_after_seconds` is reclaimed.
    worker_liveness_seconds: float = Field(default=10.0, gt=0)
    worker_lost_after_seconds: float = Field(default=30.0, gt=0)
    # The outbox relay publishes what the API committed but never published (it died, or Redis was away);
    # the grace keeps it from racing the API's own publish right after commit.
    relay_interval_seconds: float = Field(default=10.0, gt=0)
    relay_grace_seconds: float = Field(default=15.0, ge=0)
    # Originals no item owns (the API stores the file, then commits its row; a failed commit leaves
    # the file) are removed once older than the age: far above any upload-to-commit delay.
    orphan_sweep_interval_seconds: float = Field(default=3600.0, gt=0)
    orphan_min_age_seconds: int = Field(default=86400, ge=3600)
    # Published outbox rows are kept this long (GET /tasks/{id} of a superseded task id reads them),
    # then pruned on beat in batches of OUTBOX_PRUNE_BATCH_SIZE rows, one short transaction each.
    outbox_retention_hours: float = Field(default=24.0, gt=0)
    outbox_prune_interval_seconds: float = Field(default=300.0, gt=0)
    outbox_prune_batch_size: int = Field(default=1000, ge=1, le=100_000)
    # The first answer to each Idempotency-Key is kept at least this long (pruned on beat like the
    # outbox, same interval and batch size); a claim whose call died with its API process is taken
    # over after the lease, which must outlast the longest call (the synchronous wait included).
    idempotency_key_hours: float = Field(default=24.0, ge=24)
    idempotency_lease_seconds: float = Field(default=900.0, gt=0)
    # Deleted items' objects leave S3 on beat (sequoia_media/deleter.py), retried with the task backoff.
    deletion_interval_seconds: float = Field(default=10.0, gt=0)
    # A finished deletion is kept this long (a repeated DELETE reports it), then forgotten.
    deletion_retention_hours: float = Field(default=168.0, gt=0)

    # -- webhooks (docs/webhooks.md): the media worker sends due deliveries on beat, this many at once,
    # each bounded by the timeouts, so a receiver that hangs costs one timeout and never a worker.
    webhook_delivery_interval_seconds: float = Field(default=5.0, gt=0)
    webhook_delivery_concurrency: int = Field(default=8, ge=1, le=64)
    webhook_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Receivers are reached only at globally routable addresses (never loopback, private networks,
    # link-local cloud metadata): an endpoint's URL cannot point the sender at internal services.
    webhook_allow_private_addresses: bool = False
    # Events whose deliveries are all finished are pruned past this age, with their attempt log; at
    # least the retry schedule's 28 hours, so a pending delivery's event is never pruned under it.
    webhook_retention_hours: float = Field(default=168.0, ge=28)

    # -- metrics (docs/monitoring.md): worker /metrics port, beat's queue exporter port (0: off)
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    queue_metrics_port: int = Field(default=9101, ge=0, le=65535)
    metrics_address: str = "0.0.0.0"
    metrics_inspect_timeout_seconds: float = Field(default=1.0, gt=0, le=10)
    # Who serves each queue is asked by one broadcast per interval, whatever the number of readers.
    worker_broadcast_cache_seconds: float = Field(default=5.0, gt=0)
    prometheus_multiproc_dir: Path | None = None

    # -- security
    sequoia_api_token: SecretStr | None = None
    sequoia_api_tokens: Annotated[list[SecretStr], NoDecode] = []
    sequoia_read_tokens: Annotated[list[SecretStr], NoDecode] = []
    gallery_link_secret: SecretStr | None = None
    gallery_link_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=30 * 24 * 3600)
    public_reads: bool = False
    flower_user: str = "admin"
    flower_password: SecretStr | None = None

    # -- Kubernetes (set by the Helm chart): worker-health adds each worker Deployment's replicas
    k8s_worker_replicas: bool = False
    k8s_namespace: str | None = None
    k8s_worker_selector: str = "app.kubernetes.io/component in (worker-thumbnails,worker-media)"

    sequoia_api_url: str = "http://127.0.0.1:8000"
    # Unset: the command line decides (`--loglevel` of celery, info for the API); set, it wins.
    log_level: Literal["debug", "info", "warning", "error", "critical"] | None = None

    _split_lists = field_validator("sequoia_api_tokens", "sequoia_read_tokens", "register_prefixes",
                                   mode="before")(_split_csv)
    _split_sentinels = field_validator("redis_sentinels", mode="before")(_split_csv)
    _lower_log_level = field_validator("log_level", mode="before")(_lower)

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_are_host_port(cls, value: list[str]) -> list[str]:
        for sentinel in value:
            host, _, port = sentinel.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"REDIS_SENTINELS entry {sentinel!r} is not host:port")
        return value

    @field_validator("derivative_recipes")
    @classmethod
    def _recipes_are_usable(cls, value: tuple[Recipe, ...] | None) -> tuple[Recipe, ...] | None:
        return None if value is None else check_recipes(value)

    @model_validator(mode="after")
    def _sentinel_without_tls(self) -> Settings:
        if self.redis_sentinels and self.redis_url.startswith("rediss://"):
            raise ValueError("REDIS_SENTINELS with a rediss:// REDIS_URL (TLS through Sentinel) is not supported")
        return self

    @model_validator(mode="after")
    def _time_limits_are_consistent(self) -> Settings:
        if self.soft_time_limit >= self.task_time_limit_seconds:
            raise ValueError("TASK_SOFT_TIME_LIMIT_SECONDS must be below TASK_TIME_LIMIT_SECONDS")
        if self.visibility_timeout <= self.task_time_limit_seconds + self.task_retry_backoff_max_seconds:
            # A retry's message stays unacked while it waits for its countdown, then while it runs: a
            # shorter visibility timeout makes Redis hand it to a second worker meanwhile.
            raise ValueError("VISIBILITY_TIMEOUT_SECONDS must exceed TASK_TIME_LIMIT_SECONDS + "
                             "TASK_RETRY_BACKOFF_MAX_SECONDS")
        if self.worker_lost_after_seconds < 2 * self.worker_liveness_seconds:
            # One late heartbeat must not make a live worker look dead.
            raise ValueError("WORKER_LOST_AFTER_SECONDS must be at least twice WORKER_LIVENESS_SECONDS")
        if self.task_retry_publish_patience_seconds >= self.worker_lost_after_seconds:
            # Recovery takes a queued item whose message stayed taken that long for a dead consumer's.
            raise ValueError("TASK_RETRY_PUBLISH_PATIENCE_SECONDS must be below WORKER_LOST_AFTER_SECONDS")
        if self.idempotency_lease_seconds <= self.sync_wait_timeout_seconds:
            # A synchronous call still waiting would see its key taken over by its own retry.
            raise ValueError("IDEMPOTENCY_LEASE_SECONDS must exceed SYNC_WAIT_TIMEOUT_SECONDS")
        if self.stuck_after <= self.task_time_limit_seconds:
            raise ValueError("STUCK_AFTER_SECONDS must exceed TASK_TIME_LIMIT_SECONDS")
        if self.stuck_after <= self.task_retry_backoff_max_seconds:
            # An item waiting for its retry would be taken for a lost one and run twice.
            raise ValueError("STUCK_AFTER_SECONDS must exceed TASK_RETRY_BACKOFF_MAX_SECONDS")
        return self

    @property
    def soft_time_limit(self) -> int:
        """Soft limit: the task gets a chance to record a `timeout` failure before the hard kill."""
        if self.task_soft_time_limit_seconds is not None:
            return self.task_soft_time_limit_seconds
        return max(self.task_time_limit_seconds - 30, int(self.task_time_limit_seconds * 0.9))

    @property
    def visibility_timeout(self) -> int:
        """Redis redelivers an unacked task after this long; always above the hard limit plus the
        longest retry wait, with a margin."""
        return self.visibility_timeout_seconds or int(
            self.task_time_limit_seconds + self.task_retry_backoff_max_seconds + 300)

    @property
    def stuck_after(self) -> int:
        """An item untouched this long in queued/processing is stuck; always past the hard limit,
        so a task still running is never taken for a lost one."""
        return self.stuck_after_seconds or self.task_time_limit_seconds + 300

    @property
    def recipes(self) -> tuple[Recipe, ...]:
        """The derivative recipes: DERIVATIVE_RECIPES, or the defaults from the older size settings."""
        if self.derivative_recipes is not None:
            return self.derivative_recipes
        return default_recipes(self.preview_long_edge, self.thumbnail_long_edge, self.output_format,
                               self.output_quality)

    @property
    def api_tokens(self) -> list[str]:
        """Every bearer token that may write (and read, unless reads are public)."""
        tokens = [t.get_secret_value() for t in self.sequoia_api_tokens]
        if self.sequoia_api_token is not None:
            tokens.append(self.sequoia_api_token.get_secret_value())
        return [t for t in tokens if t]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once by entry points."""
    return Settings()
