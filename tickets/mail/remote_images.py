"""Remote images in stored message HTML, blocked until the agent asks for them (no Django imports).

An ``<img>`` whose source is on another server (``http:``, ``https:`` or protocol-relative ``//host``)
lets the sender see when, where and how often the message is read (a tracking pixel). The desk shows
such images as a placeholder, keeping the address in ``data-remote-src``, until the agent clicks "Show
remote images" for that message. Inline images of an email were rewritten to the helpdesk's own
attachment URLs when the message was stored (:mod:`tickets.mail.sanitize`), so they are not remote and
keep showing. Applied when the page is rendered: the stored HTML keeps the original addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from tickets.mail.html_tree import parse_html, serialize_html

__all__ = ["PLACEHOLDER_SRC", "BlockedHtml", "block_remote_images", "is_remote_url"]

PLACEHOLDER_SRC = "data:image/svg+xml," + quote(
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    '<rect width="120" height="40" fill="#eceff3" stroke="#c5cbd3"/>'
    '<text x="60" y="24" font-family="sans-serif" font-size="11" fill="#59636e" text-anchor="middle">'
    "image blocked</text></svg>",
    safe="",
)


@dataclass(frozen=True)
class BlockedHtml:
    html: str
    blocked: int  # how many images wait for "Show remote images"


def is_remote_url(url: str) -> bool:
    """True for an address a browser would fetch from another server."""
    # Browsers ignore surrounding whitespace and treat backslashes like slashes ("\\host" is "//host").
    value = url.strip().replace("\\", "/").lower()
    return value.startswith(("http:", "https:", "//"))


def block_remote_images(html: str) -> BlockedHtml:
    """`html` (already sanitised) with every remote ``<img src>`` moved to ``data-remote-src``."""
    if "<img" not in html.lower():
        return BlockedHtml(html=html, blocked=0)
    root = parse_html(html)
    blocked = 0
    for node in root.iter():
        if node.tag == "img" and is_remote_url(node.attrs.get("src", "")):
            node.attrs["data-remote-src"] = node.attrs["src"].strip()
            node.attrs["src"] = PLACEHOLDER_SRC
            node.attrs["class"] = "remote-image-blocked"
            node.attrs.setdefault("alt", "")
            blocked += 1
    if not blocked:
        return BlockedHtml(html=html, blocked=0)
    return BlockedHtml(html=serialize_html(root), blocked=blocked)
