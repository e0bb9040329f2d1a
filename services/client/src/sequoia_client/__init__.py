"""A Python client of Sequoia's REST API (`Client`) and the `sequoia` CLI built on it.

It imports no server package (FastAPI, Celery, psycopg, boto3, `sequoia_core`): installing it gives
the CLI and the client only (docs/client.md).
"""

from sequoia_client.client import Client, Progress
from sequoia_client.config import ClientConfig
from sequoia_client.errors import ResponseError, SequoiaClientError, WebhookVerificationError
from sequoia_client.retries import NO_RETRIES, RetryPolicy
from sequoia_client.webhooks import verify_webhook

__all__ = ["NO_RETRIES", "Client", "ClientConfig", "Progress", "ResponseError", "RetryPolicy",
           "SequoiaClientError", "WebhookVerificationError", "verify_webhook"]
