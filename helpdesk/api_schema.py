"""The OpenAPI schema view: drf-spectacular's, readable in a browser.

Browsers ask for text/html, which drf-spectacular does not offer, so they got the YAML as a download of
an unknown type. Here a browser gets the YAML on an HTML page (with a link to the interactive docs), and
`?format=json` answers `application/json`, which browsers display; API clients negotiate as before.
"""

from django.utils.html import escape
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView


class SchemaPageRenderer(OpenApiYamlRenderer):
    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        yaml = super().render(data, accepted_media_type, renderer_context).decode()
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Helpdesk API schema (OpenAPI 3)</title></head>"
            '<body style="font-family: system-ui, sans-serif; margin: 1rem; color: #18212f">'
            "<h1>Helpdesk API schema</h1>"
            '<p>OpenAPI 3, as YAML. <a href="/api/v1/docs/">Interactive docs</a> · '
            '<a href="?format=json">JSON</a> · <a href="?format=yaml">YAML file</a></p>'
            f'<pre style="white-space: pre-wrap; overflow-wrap: anywhere">{escape(yaml)}</pre>'
            "</body></html>"
        ).encode()


class SchemaView(SpectacularAPIView):
    renderer_classes = [
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
        OpenApiJsonRenderer2,  # application/json first, so ?format=json is shown, not downloaded
        OpenApiJsonRenderer,
        SchemaPageRenderer,
    ]
