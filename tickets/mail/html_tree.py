"""A small, linear-time HTML tree for untrusted email HTML (no Django imports).

:func:`parse_html` turns (possibly broken, possibly hostile) HTML into a tree of :class:`HtmlNode`;
:func:`serialize_html` writes it back as well-formed HTML.  The email parser uses the pair to
normalise HTML before it is sanitised (:mod:`tickets.mail.sanitize`) and to render it as text
(:mod:`tickets.mail.html_text`); reply stripping (:mod:`tickets.mail.quotes`) walks the same tree.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import re
from collections.abc import Iterator

__all__ = [
    "BLOCK_TAGS",
    "MAX_HTML_TREE",
    "HtmlNode",
    "parse_html",
    "serialize_html",
    "strip_tags_linear",
]

MAX_HTML_TREE = 4 * 1024 * 1024  # larger HTML is not turned into a tree; callers use strip_tags_linear
_MAX_HTML_DEPTH = 128  # html5ever (nh3) is quadratic in nesting depth
_MAX_HTML_MARKUP = 50_000  # tags/markup tokens turned into a tree; the rest is flattened

_VOID_TAGS = frozenset("area base br col embed hr img input keygen link meta param source track wbr".split())
BLOCK_TAGS = frozenset(
    (
        "address article aside blockquote center dd details dialog dir div dl dt fieldset "
        "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main menu nav "
        "ol p pre section summary table thead tbody tfoot tr ul caption body html"
    ).split()
)
_HEAD_TAGS = frozenset("head meta link style script title base noscript template".split())
_CLOSES_P = BLOCK_TAGS - {"body", "html", "li", "dd", "dt", "tr", "thead", "tbody", "tfoot", "caption"}


class HtmlNode:
    """A minimal DOM node: element (``tag`` set) or text node (``tag`` is None)."""

    __slots__ = ("attrs", "children", "parent", "tag", "text")

    def __init__(
        self, tag: str | None, attrs: dict[str, str] | None = None, text: str = "", parent=None
    ) -> None:
        self.tag = tag
        self.attrs = attrs or {}
        self.children: list[HtmlNode] = []
        self.parent: HtmlNode | None = parent
        self.text = text

    def iter(self) -> Iterator[HtmlNode]:
        """Document-order traversal (iterative)."""
        stack: list[HtmlNode] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def text_content(self, limit: int = 1_000_000) -> str:
        parts: list[str] = []
        size = 0
        for node in self.iter():
            if node.tag is None:
                parts.append(node.text)
                size += len(node.text)
                if size >= limit:
                    break
            elif node.tag == "br":
                parts.append("\n")
        return "".join(parts)[:limit]

    def remove(self) -> None:
        if self.parent is not None:
            with contextlib.suppress(ValueError):
                self.parent.children.remove(self)
            self.parent = None

    def truncate_from(self) -> None:
        """Remove this node and everything after it in document order."""
        node: HtmlNode | None = self
        while node is not None and node.parent is not None:
            parent = node.parent
            index = next((i for i, c in enumerate(parent.children) if c is node), None)
            if index is not None:
                for removed in parent.children[index + 1 :]:
                    removed.parent = None
                del parent.children[index + 1 :]
            node = parent
        self.remove()


_CANDIDATE_RE = re.compile(r"<[A-Za-z/!?]")
_START_TAG_RE = re.compile(r"<([A-Za-z][^\s/<>\x00]{0,63})((?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*)>")
_END_TAG_RE = re.compile(r"</([A-Za-z][^\s/<>\x00]{0,63})[^<>]*>")
_ATTR_RE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_ATTR_NAME_RE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]{0,63}")
_RAW_TEXT_TAGS = frozenset("script style xmp iframe noembed noframes textarea title".split())
_SCOPE_BOUNDARIES = frozenset("td th table caption html template object applet marquee".split())
_TABLE_SCOPE = frozenset({"table", "html", "template"})
_TABLE_PARTS = frozenset("td th tr tbody thead tfoot table caption colgroup".split())
_AUTOCLOSE_SCOPE = {
    "li": ({"li"}, {"ul", "ol", "table"}),
    "dt": ({"dt", "dd"}, {"dl", "table"}),
    "dd": ({"dt", "dd"}, {"dl", "table"}),
    "tr": ({"tr", "td", "th"}, {"table", "tbody", "thead", "tfoot"}),
    "td": ({"td", "th"}, {"tr", "table"}),
    "th": ({"td", "th"}, {"tr", "table"}),
    "option": ({"option"}, {"select", "datalist"}),
}


class _TreeBuilder:
    """Builds an :class:`HtmlNode` tree from a linear-time tokenizer.

    The stdlib ``html.parser`` has quadratic worst cases on malformed input (and so
    does html5ever on deep nesting / many character references), so hostile HTML is
    tokenised here with regexes whose matches can never cross a ``<``; the tree depth
    is capped at ``_MAX_HTML_DEPTH``.
    """

    def __init__(self) -> None:
        self.root = HtmlNode("#root")
        self.stack: list[HtmlNode] = [self.root]
        self.open_counts: dict[str, int] = {}
        self.in_head = False
        self.pending: list[str] = []
        self.truncated = False

    @property
    def current(self) -> HtmlNode:
        return self.stack[-1]

    def _pop_to(self, index: int) -> None:
        for node in self.stack[index:]:
            self.open_counts[node.tag or ""] -= 1
            if node.tag == "head":
                self.in_head = False
        del self.stack[index:]

    def _close_until(self, names: set[str], stop: set[str]) -> None:
        for i in range(len(self.stack) - 1, max(0, len(self.stack) - 40), -1):
            tag = self.stack[i].tag
            if tag in names:
                self._pop_to(i)
                return
            if tag in stop:
                return

    def _leave_head(self) -> None:
        if self.in_head:
            for i, node in enumerate(self.stack):
                if node.tag == "head":
                    self._pop_to(i)
                    return

    def start(self, tag: str, attrs: dict[str, str], *, self_closing: bool) -> HtmlNode:
        self.flush()
        if self.in_head and tag not in _HEAD_TAGS:
            self._leave_head()
        if tag in _CLOSES_P and self.current.tag == "p":
            self._pop_to(len(self.stack) - 1)
        scope = _AUTOCLOSE_SCOPE.get(tag)
        if scope is not None:
            self._close_until(*scope)
        node = HtmlNode(tag, attrs, parent=self.current)
        self.current.children.append(node)
        if not self_closing and tag not in _VOID_TAGS and len(self.stack) < _MAX_HTML_DEPTH:
            self.stack.append(node)
            self.open_counts[tag] = self.open_counts.get(tag, 0) + 1
            if tag == "head":
                self.in_head = True
        return node

    def end(self, tag: str) -> None:
        self.flush()
        if tag == "br":
            self.start("br", {}, self_closing=True)
            return
        if not self.open_counts.get(tag):
            return
        # HTML "has an element in scope": a stray </div> inside a table cell must not
        # close the div around the whole table.
        boundaries = _TABLE_SCOPE if tag in _TABLE_PARTS else _SCOPE_BOUNDARIES
        for i in range(len(self.stack) - 1, 0, -1):
            node_tag = self.stack[i].tag
            if node_tag == tag:
                self._pop_to(i)
                return
            if node_tag in boundaries:
                return

    def data(self, text: str) -> None:
        if text:
            self.pending.append(text)

    def flush(self) -> None:
        """Attach buffered text (string concatenation per character would be quadratic)."""
        if not self.pending:
            return
        text = "".join(self.pending)
        self.pending = []
        if self.in_head and self.current.tag == "head" and text.strip():
            self._leave_head()
        children = self.current.children
        if children and children[-1].tag is None:
            children[-1].text += text
        else:
            children.append(HtmlNode(None, text=text, parent=self.current))

    def feed(self, html: str) -> None:
        pos = 0
        size = len(html)
        steps = 0
        while pos < size:
            steps += 1
            if steps > _MAX_HTML_MARKUP:
                # absurd amount of markup: the rest is flattened to text (linear)
                self.data(strip_tags_linear(html[pos:]))
                self.truncated = True
                break
            match = _CANDIDATE_RE.search(html, pos)
            if match is None:
                self.data(html_lib.unescape(html[pos:]))
                break
            lt = match.start()
            if lt > pos:
                self.data(html_lib.unescape(html[pos:lt]))
            pos = self._markup(html, lt)
        self.flush()

    def _markup(self, html: str, lt: int) -> int:
        """Consume the markup at ``html[lt] == '<'``; return the next position."""
        second = html[lt + 1]
        if second == "!" and html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            return len(html) if end < 0 else end + 3
        if second in "!?":
            next_lt = html.find("<", lt + 1)
            end = html.find(">", lt + 2, next_lt if next_lt >= 0 else len(html))
            if end < 0:
                self.data("<")
                return lt + 1
            return end + 1
        if second == "/":
            match = _END_TAG_RE.match(html, lt)
            if match is None:
                self.data("<")
                return lt + 1
            self.end(match.group(1).lower())
            return match.end()
        match = _START_TAG_RE.match(html, lt)
        if match is None:
            self.data("<")
            return lt + 1
        tag = match.group(1).lower()
        raw_attrs = match.group(2)
        self_closing = raw_attrs.rstrip().endswith("/")
        attrs: dict[str, str] = {}
        for attr in _ATTR_RE.finditer(raw_attrs):
            name = attr.group(1).lower()
            if name not in attrs and _ATTR_NAME_RE.fullmatch(name):
                value = attr.group(2) if attr.group(2) is not None else attr.group(3)
                if value is None:
                    value = attr.group(4) or ""
                attrs[name] = html_lib.unescape(value)
        node = self.start(tag, attrs, self_closing=self_closing)
        pos = match.end()
        if tag in _RAW_TEXT_TAGS and not self_closing:
            closing = re.compile(r"</" + re.escape(tag) + r"\s*>", re.I).search(html, pos)
            end = closing.start() if closing else len(html)
            if self.current is node:
                if tag in ("textarea", "title"):
                    self.data(html_lib.unescape(html[pos:end]))
                self.end(tag)
            return closing.end() if closing else len(html)
        return pos


def parse_html(html: str) -> HtmlNode:
    """Parse (possibly broken, possibly hostile) HTML into a small tree.  Never raises."""
    builder = _TreeBuilder()
    try:
        builder.feed(html)
    except Exception:
        root = HtmlNode("#root")
        pre = HtmlNode("pre", parent=root)
        root.children.append(pre)
        pre.children.append(HtmlNode(None, text=strip_tags_linear(html), parent=pre))
        return root
    return builder.root


_TEXT_CHUNK = 2048


def serialize_html(root: HtmlNode) -> str:
    """Serialise a tree as well-formed HTML (escaped text, quoted attributes).

    Long text runs are split with ``<wbr>`` at whitespace: html5ever (nh3) is
    quadratic on very long text nodes full of character references.
    """
    out: list[str] = []
    stack: list[tuple[HtmlNode, bool]] = [(child, True) for child in reversed(root.children)]
    while stack:
        node, entering = stack.pop()
        if node.tag is None:
            out.append(_escape_text_chunked(node.text))
            continue
        if not entering:
            out.append(f"</{node.tag}>")
            continue
        if not _ATTR_NAME_RE.fullmatch(node.tag):
            for child in reversed(node.children):
                stack.append((child, True))
            continue
        attrs = "".join(
            f' {name}="{html_lib.escape(value, quote=True)}"'
            for name, value in node.attrs.items()
            if _ATTR_NAME_RE.fullmatch(name)
        )
        out.append(f"<{node.tag}{attrs}>")
        if node.tag in _VOID_TAGS:
            continue
        stack.append((node, False))
        for child in reversed(node.children):
            stack.append((child, True))
    return "".join(out)


def _escape_text_chunked(text: str) -> str:
    if len(text) <= _TEXT_CHUNK:
        return html_lib.escape(text, quote=False)
    pieces = []
    start = 0
    while start < len(text):
        end = start + _TEXT_CHUNK
        if end < len(text):
            space = text.rfind(" ", start + _TEXT_CHUNK // 2, end)
            end = space + 1 if space > 0 else end
        pieces.append(html_lib.escape(text[start:end], quote=False))
        start = end
    return "<wbr>".join(pieces)


def strip_tags_linear(html: str) -> str:
    """Crude, strictly linear tag stripper (patterns cannot cross a ``<``)."""
    html = _LINEAR_BREAK_RE.sub("\n", html)
    html = _LINEAR_TAG_RE.sub(" ", html)
    return html_lib.unescape(html)


_LINEAR_BREAK_RE = re.compile(r"(?i)<br\b[^<>]*>|</(?:p|div|tr|li|h[1-6]|blockquote)\s*>")
_LINEAR_TAG_RE = re.compile(r"<[^<>]*>")
