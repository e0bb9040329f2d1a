"""HTTP plumbing shared by every route: the ASGI layers (front door, security headers, metrics), the
token and session checks, the dependencies, multipart parsing, error answers and the OpenAPI tweaks.
Routes (`sequoia_api.routes`) use it; the application logic (`sequoia_api.services`) never does."""
