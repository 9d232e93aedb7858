"""The HTTP service: the Starlette app, its middleware and settings, and the uvicorn server."""
