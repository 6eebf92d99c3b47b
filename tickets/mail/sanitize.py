"""The one sanitising policy for untrusted HTML (nh3 allow-list; no Django imports).

The ticket services apply it exactly once, when a message is stored
(`tickets.services.message_add` / `ticket_create`), whatever the channel: the email parser hands
them normalised but unsanitised HTML, the API hands them what the client sent.  Inline images of an
email (``<img src="cid:...">``) are rewritten to the URLs of their stored attachments in the same
pass, so they show in the workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

import nh3

from tickets.mail.html_tree import MAX_HTML_TREE, parse_html, serialize_html

__all__ = ["MAX_SANITIZE", "content_id_of", "sanitize_html"]

# Serialised HTML handed to nh3; html5ever's run time is superlinear, so larger bodies keep only
# their text rendering.
MAX_SANITIZE = 3 * 1024 * 1024

_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}
_ATTRIBUTES: dict[str, set[str]] = {k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("*", set()).update({"dir", "lang", "title", "style"})
_ATTRIBUTES.setdefault("td", set()).update({"valign", "width", "bgcolor"})
_ATTRIBUTES.setdefault("th", set()).update({"valign", "width", "bgcolor"})
_ATTRIBUTES.setdefault("table", set()).update({"width", "border", "cellpadding", "cellspacing"})
_ATTRIBUTES.setdefault("font", set()).update({"color", "face", "size"})
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "font-size",
    "font-family",
    "text-align",
    "text-decoration",
    "white-space",
}
_CLEAN_CONTENT = {"script", "style", "head", "title", "template", "noscript", "object", "iframe", "svg"}
_URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}
_LINK_REL = "noopener noreferrer nofollow"


def content_id_of(reference: str) -> str:
    """The Content-ID a ``cid:`` URL names (RFC 2392: percent-encoded, without angle brackets)."""
    value = reference[4:] if reference[:4].lower() == "cid:" else reference
    return unquote(value).strip().strip("<>")


def sanitize_html(html: str, *, cid_urls: Mapping[str, str] | None = None) -> str:
    """Return `html` reduced to safe formatting, tables, links and images; '' if it cannot be.

    `cid_urls` maps Content-IDs (as :func:`content_id_of` returns them) to the URLs where those
    parts are served; the caller builds the URLs, so they are trusted.  An image whose Content-ID is
    not in the map keeps its ``cid:`` source (it shows as missing rather than disappearing).
    """
    if not html or not html.strip() or len(html) > MAX_HTML_TREE:
        return ""
    # Our linear-time tree first: it caps nesting depth and long text runs, where html5ever is slow.
    normalised = serialize_html(parse_html(html))
    if len(normalised) > MAX_SANITIZE:
        return ""
    attribute_filter = _cid_rewriter(cid_urls) if cid_urls else None
    try:
        return nh3.clean(
            normalised,
            tags=_TAGS,
            clean_content_tags=_CLEAN_CONTENT,
            attributes=_ATTRIBUTES,
            attribute_filter=attribute_filter,
            url_schemes=_URL_SCHEMES,
            link_rel=_LINK_REL,
            strip_comments=True,
            filter_style_properties=_STYLE_PROPERTIES,
        )
    except Exception:  # nh3 bugs on pathological input must not lose the message; its text stays
        return ""


def _cid_rewriter(cid_urls: Mapping[str, str]):  # type: ignore[no-untyped-def]
    # nh3 checks URL schemes on the original value and does not re-check what a filter returns:
    # only the caller's own URLs are ever substituted.
    def rewrite(element: str, attribute: str, value: str) -> str:
        if element == "img" and attribute == "src" and value[:4].lower() == "cid:":
            return cid_urls.get(content_id_of(value), value)
        return value

    return rewrite
