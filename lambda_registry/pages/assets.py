"""The pages' CSS, JavaScript and icons: a fixed list of files, ours and Swagger UI's.

Only the files the pages use are served (the ``swagger-ui-py`` wheel also
ships Swagger Editor, 20 MB we have no use for). Swagger UI's come from
that pinned package, found without importing it (its ``__init__`` imports
web-framework adapters we do not need).
"""

import importlib.util
import os

from pyramid.exceptions import ConfigurationError
from pyramid.response import FileResponse

from ..web.envelope import error, error_entry
from ..web.observe import PAGE_ASSET, begin

OURS = os.path.join(os.path.dirname(__file__), "static")
CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")
OUR_FILES = ("site.css", "landing.css", "landing.js", "docs.css", "docs.js", "me.css", "me.js", "favicon.svg")
# Browsers may keep them an hour; a new release shows within that.
CACHE_SECONDS = 3600


def swagger_ui_directory():
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError("lambda_registry.pages needs the swagger-ui-py package (pip install swagger-ui-py)")
    return os.path.join(spec.submodule_search_locations[0], "static")


class Assets:
    def __init__(self):
        swagger_ui = swagger_ui_directory()
        self.files = {name: os.path.join(OURS, name) for name in OUR_FILES}
        self.files.update({name: os.path.join(swagger_ui, name) for name in SWAGGER_UI_FILES})
        missing = [path for path in self.files.values() if not os.path.isfile(path)]
        if missing:
            raise ConfigurationError(f"lambda_registry.pages: missing asset files {missing}")

    def view(self, request):
        begin(request, PAGE_ASSET)
        name = request.matchdict["name"]
        path = self.files.get(name)
        if path is None:
            raise error(404, None, [error_entry("url", "", "There is nothing at this URL.")])
        content_type = CONTENT_TYPES[os.path.splitext(name)[1]]
        response = FileResponse(path, request=request, cache_max_age=CACHE_SECONDS, content_type=content_type)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
