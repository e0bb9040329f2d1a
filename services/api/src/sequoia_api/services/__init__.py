"""The API's application logic, one module per resource or use case, without FastAPI or Starlette:
routes parse a request, call a function here and shape its answer. Errors are `sequoia_core.errors`."""
