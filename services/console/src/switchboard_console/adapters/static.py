"""Serves the built console: real files as they are, every other path as ``index.html``."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response

#: Vite fingerprints everything under assets/: those never change, cache them for a year.
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"

_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Switchboard console</title>
<body>
<h1>The console is not built yet</h1>
<p>Run <code>make console-build</code> (or <code>npm ci &amp;&amp; npm run build</code> in
<code>console/</code>), then reload this page.</p></body></html>"""


class StaticBundle:
    """The files of ``npm run build``, with the single-page-app fallback."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def built(self) -> bool:
        """Whether the bundle's ``index.html`` exists."""
        return (self.root / "index.html").is_file()

    def _file(self, path: str) -> Path | None:
        candidate = (self.root / path.lstrip("/")).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            return None  # a path escaping the bundle (../) is never served
        return candidate if candidate.is_file() else None

    def response(self, path: str) -> Response:
        """The file at ``path``, else ``index.html`` (the client-side router decides)."""
        if not self.built:
            return HTMLResponse(_NOT_BUILT, status_code=503)
        found = self._file(path)
        if found is not None and found.name != "index.html":
            cache = (
                _IMMUTABLE if "assets" in found.relative_to(self.root).parts[:1] else _REVALIDATE
            )
            return FileResponse(found, headers={"Cache-Control": cache})
        if path.lstrip("/").startswith("assets/"):
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(self.root / "index.html", headers={"Cache-Control": _REVALIDATE})
