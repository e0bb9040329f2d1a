"""A Python client of Sequoia's REST API (`Client`) and the `sequoia` CLI built on it.

It imports no server package (FastAPI, Celery, psycopg, boto3, `sequoia_core`): installing it gives
the CLI and the client only.
"""

from sequoia_client.client import Client
from sequoia_client.config import ClientConfig
from sequoia_client.errors import ResponseError

__all__ = ["Client", "ClientConfig", "ResponseError"]
