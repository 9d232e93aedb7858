"""Interactive API docs (Swagger UI and ReDoc), served with their assets by the service itself.

The assets come from the ``drf-spectacular-sidecar`` distribution (its static
files only: it is installed without its Django dependency and never imported),
so the pages work with no internet access.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["docs_routes"]

_PACKAGE = "drf_spectacular_sidecar"
# The pages may load only what the service itself serves (ReDoc would fetch a logo from a CDN).
_POLICY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:",
}

_SWAGGER = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Swagger UI</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui-dist/swagger-ui.css">
<link rel="icon" href="/docs/assets/swagger-ui-dist/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-dist/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body></html>
"""

_SWAGGER_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout",
  validatorUrl: null, tryItOutEnabled: false
});
"""

_REDOC = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json" hide-download-button></redoc>
<script src="/docs/assets/redoc/bundles/redoc.standalone.js"></script>
</body></html>
"""


def _assets() -> Path | None:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static" / _PACKAGE


def docs_routes(title: str) -> list[BaseRoute]:
    """Routes for ``/docs``, ``/redoc`` and their assets; none when the assets are absent."""
    assets = _assets()
    if assets is None or not assets.is_dir():
        return []
    swagger = _SWAGGER.format(title=title)
    redoc = _REDOC.format(title=title)

    async def swagger_page(_: object) -> HTMLResponse:
        return HTMLResponse(swagger, headers=_POLICY)

    async def swagger_init(_: object) -> HTMLResponse:
        return HTMLResponse(_SWAGGER_INIT, media_type="text/javascript")

    async def redoc_page(_: object) -> HTMLResponse:
        return HTMLResponse(redoc, headers=_POLICY)

    return [
        Route("/docs", swagger_page, include_in_schema=False),
        Route("/docs/swagger-init.js", swagger_init, include_in_schema=False),
        Route("/redoc", redoc_page, include_in_schema=False),
        Mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets"),
    ]
