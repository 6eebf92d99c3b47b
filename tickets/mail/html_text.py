"""Readable plain text from untrusted HTML (no Django imports).

:func:`render_text` renders a tree from :func:`tickets.mail.html_tree.parse_html`;
:func:`html_to_text` does both steps and never raises.
"""

from __future__ import annotations

import re

from tickets.mail.html_tree import BLOCK_TAGS, MAX_HTML_TREE, HtmlNode, parse_html, strip_tags_linear

__all__ = ["HR_TEXT", "html_to_text", "render_text", "strip_blank_edges"]

HR_TEXT = "_" * 32
_SKIP_TAGS = frozenset(
    "script style head title template noscript object iframe svg xml math select option".split()
)
_PARAGRAPH_TAGS = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre table dl ul ol".split())
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.I)
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f]")
_HTML_WS_RE = re.compile(r"[ \t\r\n\f\v]+")
_WS_LINES_RE = re.compile(r"\n\s*\n\s*\n+")


def strip_blank_edges(text: str) -> str:
    """Drop blank lines at the start and the end (inner blank lines stay)."""
    lines = text.split("\n")
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


class _TextWriter:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.current: list[str] = []
        self.current_depth = 0
        self.pending = 0
        self.depth = 0
        self.prefix = ""  # list bullet waiting for the first text of an <li>

    def commit(self) -> None:
        self.lines.append((self.current_depth, "".join(self.current).rstrip()))
        self.current = []

    def _resolve_pending(self) -> None:
        if self.pending:
            if self.current:
                self.commit()
            if self.lines and self.pending > 1 and self.lines[-1][1] != "":
                self.lines.append((min(self.depth, self.lines[-1][0]), ""))
            self.pending = 0

    def block(self, level: int) -> None:
        self.pending = max(self.pending, level)

    def text(self, value: str, *, pre: bool = False) -> None:
        if not value:
            return
        if not pre:
            value = _HTML_WS_RE.sub(" ", value)  # U+00A0 is not collapsible whitespace
            if value == " " and (not self.current or self.pending):
                return
        self._resolve_pending()
        if not pre and (not self.current or self.current[-1].endswith(" ")):
            value = value.lstrip(" ")
            if not value:
                return
        if pre:
            first, *rest = value.split("\n")
            self._append(first)
            for line in rest:
                self.commit()
                self._append(line)
            return
        self._append(value)

    def _append(self, value: str) -> None:
        if not self.current:
            self.current_depth = self.depth
            if self.prefix:
                self.current.append(self.prefix)
                self.prefix = ""
        self.current.append(value)

    def br(self) -> None:
        self._resolve_pending()
        if not self.current:
            self.current_depth = self.depth
        self.commit()

    def finish(self) -> str:
        if self.current:
            self.commit()
        out: list[str] = []
        blank = 0
        for depth, text in self.lines:
            line = text.replace("\xa0", " ").rstrip()
            line = _ZERO_WIDTH_RE.sub("", line)
            if depth:
                line = ("> " * depth + line).rstrip() if line.strip() else ">" * depth
            if not line.strip():
                blank += 1
                if blank > 1:
                    continue
            else:
                blank = 0
            out.append(line)
        return strip_blank_edges("\n".join(out))


def render_text(root: HtmlNode) -> str:
    """Render a tree from :func:`parse_html` as readable plain text.

    Blocks become lines, ``<br>`` a line break, ``<blockquote>`` content is prefixed
    with ``> ``, ``<hr>`` becomes a line of underscores, list items get ``- ``, links
    whose text differs from their URL get `` <url>``.  Hidden elements, scripts and
    styles are skipped.
    """
    writer = _TextWriter()
    # stack of (node, entering) events: iterative so that deep nesting cannot overflow
    stack: list[tuple[HtmlNode, bool]] = [(root, True)]
    pre_depth = 0
    list_stack: list[list[int]] = []  # per open list: [is_ordered, counter]
    link_stack: list[tuple[str, int]] = []
    link_text: list[str] = []
    while stack:
        node, entering = stack.pop()
        tag = node.tag
        if tag is None:
            if entering:
                writer.text(node.text, pre=pre_depth > 0)
                if link_stack:
                    link_text.append(node.text)
            continue
        if entering:
            if tag in _SKIP_TAGS or "hidden" in node.attrs:
                continue
            style = node.attrs.get("style", "")
            if style and _HIDDEN_STYLE_RE.search(style):
                continue
            stack.append((node, False))
            if tag == "br":
                writer.br()
            elif tag == "hr":
                writer.block(1)
                writer.text(HR_TEXT, pre=True)
                writer.block(1)
            elif tag == "img":
                alt = (node.attrs.get("alt") or "").strip()
                if alt:
                    writer.text(f"[{alt}]")
            elif tag in ("td", "th"):
                if writer.current and not writer.current[-1].endswith(" "):
                    writer.current.append(" ")
            elif tag in BLOCK_TAGS:
                writer.block(2 if tag in _PARAGRAPH_TAGS and not list_stack else 1)
                if tag == "blockquote":
                    writer.depth += 1
                elif tag == "pre":
                    pre_depth += 1
                elif tag in ("ul", "ol"):
                    list_stack.append([tag == "ol", 0])
                elif tag == "li":
                    indent = "  " * max(0, len(list_stack) - 1)
                    if list_stack and list_stack[-1][0]:
                        list_stack[-1][1] += 1
                        writer.prefix = f"{indent}{list_stack[-1][1]}. "
                    else:
                        writer.prefix = f"{indent}- "
            elif tag == "a":
                link_stack.append((node.attrs.get("href", "") or "", len(link_text)))
            for child in reversed(node.children):
                stack.append((child, True))
        else:
            if tag in BLOCK_TAGS:
                if tag == "blockquote":
                    if writer.current:
                        writer.commit()
                    writer.depth = max(0, writer.depth - 1)
                elif tag == "pre":
                    pre_depth = max(0, pre_depth - 1)
                elif tag in ("ul", "ol") and list_stack:
                    list_stack.pop()
                writer.prefix = ""
                writer.block(2 if tag in _PARAGRAPH_TAGS and not list_stack else 1)
            elif tag == "a" and link_stack:
                href, start = link_stack.pop()
                shown = "".join(link_text[start:]).strip()
                if not link_stack:
                    link_text.clear()
                href = href.strip()
                if href.lower().startswith(("http://", "https://")) and shown and href not in shown:
                    writer.text(f" <{href}>")
    return writer.finish()


def html_to_text(html: str) -> str:
    """Convert (untrusted, possibly broken) HTML to readable plain text.  Never raises."""
    if not html or not html.strip():
        return ""
    if len(html) > MAX_HTML_TREE:
        return strip_blank_edges(_WS_LINES_RE.sub("\n\n", strip_tags_linear(html)))
    try:
        return render_text(parse_html(html))
    except Exception:
        return strip_blank_edges(_WS_LINES_RE.sub("\n\n", strip_tags_linear(html)))
