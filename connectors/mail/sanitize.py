"""Making untrusted mail content safe to show: HTML bodies through nh3 (the ammonia
sanitiser) with a strict allow-list, plain text derived from HTML, and attachment file
names cleaned for display.

HTML choices, all deliberate:

- No ``img`` at all, not even ``cid:`` images: a remote image is a tracking beacon, and
  inline images are listed as attachments (inline flag and content id) for the interface
  to show on request. ``map``/``area`` go with it.
- No ``style`` element or attribute, no ``class``/``id`` (they would reach the hub's own
  CSS and DOM), no event handlers, no script, svg, math, iframe, object, embed or form
  controls; the content of script, style, svg, math, frames, objects, templates, title,
  textarea, select and noscript is removed with the element.
- Links keep only ``https:`` and ``mailto:`` targets; ``http:``, ``javascript:``,
  ``data:`` and relative URLs (which would resolve against the hub itself) are dropped,
  leaving the link text. Every link gets ``rel="noopener noreferrer"``.
"""

from __future__ import annotations

import html as html_lib
import re

import nh3

_DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "svg",
        "math",
        "iframe",
        "frame",
        "frameset",
        "noframes",
        "object",
        "embed",
        "applet",
        "template",
        "title",
        "head",
        "textarea",
        "select",
        "noscript",
    }
)

_TAGS = (set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}) | {"font"}

# "cite" is a URL ammonia does not check against the schemes; nothing shows it anyway.
_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(attrs) - {"cite"} for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS
}
# Presentational attributes newsletters lean on; none of them can run code or load a URL.
_ATTRIBUTES["*"] = {"title", "lang", "dir"}
_ATTRIBUTES["font"] = {"color", "face", "size"}
for _tag in ("table", "td", "th", "tr"):
    _ATTRIBUTES[_tag] = _ATTRIBUTES.get(_tag, set()) | {
        "width",
        "height",
        "valign",
        "bgcolor",
        "border",
        "cellpadding",
        "cellspacing",
    }

_HTML = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes=_ATTRIBUTES,
    url_schemes={"https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    strip_comments=True,
)

# The text extractor reads nh3's output only, which is serialised by html5ever: comments
# are gone, "<" in text is always "&lt;" and attribute values are always double-quoted, so
# this pattern finds exactly the tags, at half the cost of a second nh3 pass.
_TAG = re.compile(r'<[^>"]*(?:"[^"]*"[^>"]*)*>')
# Where a browser would start a new line, or put a space between table cells.
_BLOCK_END = re.compile(
    r"<(?:br|/(?:p|div|tr|li|h[1-6]|blockquote|pre|table|ul|ol|dl|dt|dd|center|header"
    r"|footer|article|section|aside|nav|figure|figcaption|details|summary|caption))>"
)
_CELL_END = re.compile(r"</t[dh]>")
_BLANK_LINES = re.compile(r"\n\n\n+")


def sanitize_html(html: str) -> str:
    """Sanitised HTML for the timeline; "" stays ""."""
    if not html.strip():
        return ""
    return _HTML.clean(html)


def text_from_html(clean_html: str) -> str:
    """Readable plain text from HTML already passed through :func:`sanitize_html`."""
    if not clean_html:
        return ""
    marked = _CELL_END.sub(" ", _BLOCK_END.sub("\n", clean_html))
    text = html_lib.unescape(_TAG.sub("", marked))
    # str.split() beats a whitespace pattern here by a factor of two.
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_WHITESPACE = re.compile(r"\s+")


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def snippet(text: str, length: int = 200) -> str:
    """The first ``length`` characters of ``text`` with whitespace collapsed, looking only
    at as much of a long text as it takes."""
    window = length * 4
    while True:
        head = collapse_whitespace(text[:window])
        if len(head) >= length or window >= len(text):
            return head[:length].rstrip()
        window *= 4


# Control and invisible formatting characters: the bidi overrides (U+202A-U+202E,
# U+2066-U+2069) can make "invoice\u202efdp.exe" read as "invoiceexe.pdf".
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb\ud800-\udfff]"
)
# Separators of any path syntax a name could be written in, look-alike slashes included.
_SEPARATORS = re.compile("[/\\\\\u2215\u2044\u29f8\uff0f\uff3c]")
MAX_FILENAME = 180
_MAX_EXTENSION = 16


def display_filename(name: str, index: int) -> str:
    """A sender-supplied attachment name made fit to show, never to use as a path:
    directories, ``..``, control and bidi characters removed, length limited (keeping the
    extension). Falls back to ``attachment-N``."""
    name = _INVISIBLE.sub("", _WHITESPACE.sub(" ", name))
    name = _SEPARATORS.split(name)[-1]
    # Leading dots would make ".." or a hidden file; trailing dots and spaces vanish on Windows.
    name = collapse_whitespace(name).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= _MAX_EXTENSION:
            keep = MAX_FILENAME - len(extension) - 1
            name = f"{stem[:keep].rstrip(' .')}.{extension}"
        else:
            name = name[:MAX_FILENAME].rstrip(" .")
    return name or f"attachment-{index}"
