"""Re-serialise a record's MathML through an allow-list, so only safe markup reaches the page.

A record's ``bound.mathml`` is text from a file; it is parsed as XML and rebuilt from
presentation-MathML elements and a few attributes only. Anything else (unknown elements,
event-handler attributes, ``href``) is dropped. Unparseable input returns ``None`` and the
report falls back to the LaTeX text.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from html import escape
from html.entities import html5

_XML_ENTITIES = frozenset(("lt", "gt", "amp", "quot", "apos"))
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _html_entities_to_text(text: str) -> str:
    """Replace HTML named entities (sympy writes ``&InvisibleTimes;``) by their characters;
    XML's own five are kept, unknown names are escaped so the parser does not choke."""

    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name in _XML_ENTITIES:
            return m.group(0)
        char = html5.get(name + ";")
        return escape(char) if char is not None else "&amp;" + name + ";"

    return _ENTITY.sub(repl, text)

log = logging.getLogger(__name__)

_ELEMENTS = frozenset("""
math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mstyle mfenced
mover munder munderover mtable mtr mtd mpadded mphantom menclose semantics merror mlabeledtr
""".split())
_ATTRIBUTES = frozenset("""
mathvariant stretchy fence separators open close display linethickness form lspace rspace
accent accentunder movablelimits largeop symmetric notation columnalign rowalign
scriptlevel displaystyle width height depth mathsize
""".split())
_NS = "http://www.w3.org/1998/Math/MathML"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _emit(node: ET.Element, out: list[str]) -> None:
    tag = _local(node.tag)
    if tag == "mfenced":  # deprecated, not rendered by MathML Core browsers: spell it out
        open_, close = node.get("open", "("), node.get("close", ")")
        seps = (node.get("separators", ",") or "").strip()
        out.append(f"<mrow><mo>{escape(open_)}</mo>")
        for i, child in enumerate(node):
            if i and seps:
                out.append(f"<mo>{escape(seps[min(i - 1, len(seps) - 1)])}</mo>")
            _emit(child, out)
        out.append(f"<mo>{escape(close)}</mo></mrow>")
        return
    if tag not in _ELEMENTS:
        # Drop the element but keep readable text so nothing silently disappears.
        if node.text and node.text.strip():
            out.append(f"<mtext>{escape(node.text.strip())}</mtext>")
        return
    attrs = "".join(
        f' {_local(k)}="{escape(v, quote=True)}"'
        for k, v in sorted(node.attrib.items()) if _local(k) in _ATTRIBUTES
    )
    if tag == "math":
        attrs = f' xmlns="{_NS}"' + attrs
    out.append(f"<{tag}{attrs}>")
    if node.text:
        out.append(escape(node.text))
    for child in node:
        _emit(child, out)
        if child.tail:
            out.append(escape(child.tail))
    out.append(f"</{tag}>")


def sanitize_mathml(text: str | None, display: bool = True) -> str | None:
    """Allow-listed MathML for ``text`` (wrapped in ``<math>`` if needed), or ``None``."""
    if not text or not text.strip():
        return None
    src = _html_entities_to_text(text.strip())
    if "<!DOCTYPE" in src or "<!ENTITY" in src:
        log.warning("MathML with a DOCTYPE/ENTITY declaration refused")
        return None
    try:
        root = ET.fromstring(src)
    except ET.ParseError:
        try:
            root = ET.fromstring(f"<math>{src}</math>")
        except ET.ParseError as exc:
            log.warning("bound MathML is not well-formed (%s); showing LaTeX instead", exc)
            return None
    if _local(root.tag) != "math":
        wrapper = ET.Element("math")
        wrapper.append(root)
        root = wrapper
    if display:
        root.set("display", "block")
    out: list[str] = []
    _emit(root, out)
    return "".join(out)
