"""Hostile input, handled in one place.

Every value in a practice's export is treated as hostile: a clinician's name, a goal or a
review's evidence may hold HTML, Markdown or a script; an id may look like a path, a number or
``NA``. This module holds the few functions that make such values safe where they meet a
renderer or the file system:

- :func:`flat` makes a value one line (every line break, tab and run of them one space);
- :func:`md` turns a value into Markdown that displays exactly as written (report text), and
  :func:`html_text` into HTML text that displays exactly as written wherever it lands (an HTML
  element, an attribute, or HTML inside a Markdown cell, which a blank line would otherwise end
  and hand back to the Markdown parser): both flatten first, so a value never reaches a report
  with a line break in it;
- :func:`csv_cell` / :func:`csv_safe` neutralise a text cell that a spreadsheet would run as a
  formula (OWASP's CSV injection advice), and :func:`csv_unguard` undoes it when perfkit reads
  its own tables back;
- :func:`clean_html` is the allowlist every report's HTML passes through when nbconvert
  exports it (so a section that forgets to escape still cannot run a script);
- :func:`file_stem` and :func:`href` turn an id into a file name inside its folder and a link;
- :func:`css_string` turns a value into a CSS string (a printed page's running title).

Tables are escaped by pandas (``DataFrame.to_html`` escapes by default; report tables built
with a Styler escape through :func:`perfkit.report.format.table`); figure text is drawn by
matplotlib with mathtext switched off (:func:`perfkit.report.figures.use_style`), so ``$`` in a
name is a dollar sign.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import urllib.parse

__all__ = ["md", "flat", "html_text", "csv_cell", "csv_safe", "csv_unguard", "csv_guarded",
           "clean_html", "file_stem", "href", "css_string", "RESERVED_STEMS",
           "is_email_address", "distinct_names"]

# Every ASCII punctuation character that Markdown (CommonMark, and mistune as nbconvert uses
# it) may read as markup; a backslash makes each one literal. '<', '>' and '&' become HTML
# entities instead, which Markdown passes through and the browser shows as the character.
_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:\"'=^])")
# Line breaks of any kind (CommonMark's \r and \n, and the Unicode ones a browser or editor may
# also break on), tabs and form feeds: text from the records is always shown on one line.
_BREAKS = re.compile(r"[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]+")


def flat(value) -> str:
    """A value as one line of text: every run of line breaks, tabs and form feeds one space
    ("" for None). The first step of :func:`md` and :func:`html_text`.

    Examples
    --------
    >>> flat("Maya\\n\\n[phish](http://x)")
    'Maya [phish](http://x)'
    """
    return _BREAKS.sub(" ", "" if value is None else str(value))


def md(value) -> str:
    """A value as Markdown text that displays exactly as written.

    ``<b>``, ``[x](javascript:...)``, ``*stars*``, ``a_b``, ``&``, ``$x$`` and line breaks lose
    any meaning as markup; letters of any script are kept as they are.

    Examples
    --------
    >>> md("O'Brien & <b>Co</b>")
    "O\\\\'Brien &amp; &lt;b&gt;Co&lt;/b&gt;"
    """
    text = html.escape(flat(value), quote=False)
    return _MD_PUNCT.sub(r"\\\1", text)


# Each character HTML or Markdown may read as markup, as a numeric character reference: shown
# as the character by a browser, in an element or an attribute, and by a Markdown renderer,
# which never reads a character reference as markup (no link, emphasis, code, table cell, or
# autolinked address can start from one).
_HTML_TEXT = {ord(c): f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-.!|~$:=^/@"}


def html_text(value) -> str:
    """A value as HTML text that displays exactly as written, one line (:func:`flat`), safe in
    an element, in a quoted attribute, and in HTML that a notebook shows as Markdown (a
    figure's sentence): a blank line there would end the HTML and let the rest be read as
    Markdown, and every character of markup is written as a character reference.

    Examples
    --------
    >>> html_text("Maya\\n\\n[x](http://e.org) <b>")
    'Maya &#91;x&#93;&#40;http&#58;&#47;&#47;e&#46;org&#41; &#60;b&#62;'
    """
    return flat(value).translate(_HTML_TEXT)


# A spreadsheet (Excel, LibreOffice, Google Sheets) runs a cell that starts with one of these
# as a formula (OWASP, "CSV Injection"): = + - @, and tab and carriage return, which some
# strip before looking at the next character.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_guarded(text: str) -> bool:
    """Whether ``text`` is a guarded cell (:func:`csv_cell`): ``'``, then a formula start."""
    bare = text.lstrip("'")
    return bare != text and bare.startswith(FORMULA_START)


def csv_cell(value):
    """A cell as perfkit writes it to a CSV or workbook: a text cell that starts with
    ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's advice), so a
    spreadsheet shows it as text and never runs it; so does a cell that already looks guarded
    (``'=x``), so that :func:`csv_unguard` gives back exactly what was written. Text that
    looks like a number (``"-3"``, an id) is text and is guarded too; numbers, dates and
    missing values are returned as they are.

    Examples
    --------
    >>> csv_cell("=1+1"), csv_cell("-3"), csv_cell("'=x"), csv_cell(-3), csv_cell("Ann")
    ("'=1+1", "'-3", "''=x", -3, 'Ann')
    """
    if isinstance(value, str) and (value.startswith(FORMULA_START) or csv_guarded(value)):
        return "'" + value
    return value


def _may_hold_text(column) -> bool:
    """Whether a column may hold text: anything but numbers, yes/no and dates (object,
    string and categorical columns)."""
    from pandas.api import types

    return not (types.is_numeric_dtype(column) or types.is_bool_dtype(column)
                or types.is_datetime64_any_dtype(column) or types.is_timedelta64_dtype(column))


def csv_safe(frame):
    """A copy of ``frame`` with every text cell and column name passed through
    :func:`csv_cell`; numeric, boolean and date columns are left alone. Every CSV or workbook
    perfkit writes for people goes through here."""
    out = frame.copy()
    for col in out.columns:
        if _may_hold_text(out[col]):
            out[col] = out[col].astype(object).map(csv_cell)
    return out.rename(columns=lambda c: csv_cell(c) if isinstance(c, str) else c)


def csv_unguard(frame):
    """``frame`` as read back from a CSV perfkit wrote: the ``'`` that :func:`csv_cell` put
    before a text cell (or column name) is taken off again, so an id ``=1+1`` read from an
    earlier run is ``=1+1`` again."""
    def undo(v):
        return v[1:] if isinstance(v, str) and csv_guarded(v) else v

    out = frame.copy()
    for col in out.columns:
        if _may_hold_text(out[col]):
            out[col] = out[col].map(undo)
    return out.rename(columns=undo)


# What report HTML may contain: text structure, tables, a table that opens on a click
# (<details>, the whole of a long table), and the <style> block that pandas' Styler writes for
# shaded cells. Figures are not here: nbconvert embeds them as data-URI
# images outside this filter. Anything else is escaped into visible text (never run).
_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "details",
    "div", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong",
    "style", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
_ATTRIBUTES = {
    "*": ["class", "id", "title", "style"],
    "a": ["href", "title"],
    "td": ["colspan", "rowspan", "style", "class", "id"],
    "th": ["colspan", "rowspan", "scope", "style", "class", "id"],
    "style": ["type"],
    "table": ["tabindex", "class", "id", "style", "title"],
}
_PROTOCOLS = frozenset({"http", "https", "mailto"})


def clean_html(fragment) -> str:
    """Sanitize an HTML fragment of a report with bleach (the library nbconvert itself uses
    for ``sanitize_html``), keeping the tags a report needs and escaping every other tag,
    event-handler attribute and ``javascript:`` link.

    perfkit registers this as nbconvert's ``clean_html`` filter: nbconvert's own allowlist has
    no headings, paragraphs or table headers, so reports would show their markup as text.
    """
    text = fragment.decode() if isinstance(fragment, bytes) else str(fragment)
    return _clean(text)


@functools.lru_cache(maxsize=512)
def _clean(text: str) -> str:
    """bleach's cleaning of one fragment, kept for the next time the same fragment comes: a
    batch of reports shows the same headings, notes and glossary in every report (about half
    of what a clinician report cleans), and bleach returns the same text for the same input."""
    import bleach

    return bleach.clean(text, tags=_TAGS, attributes=_ATTRIBUTES, protocols=_PROTOCOLS,
                        strip=False, strip_comments=True, css_sanitizer=_css())


_CSS_SANITIZER = None


def _css():
    global _CSS_SANITIZER
    if _CSS_SANITIZER is None:
        from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, CSSSanitizer

        _CSS_SANITIZER = CSSSanitizer(allowed_css_properties=ALLOWED_CSS_PROPERTIES)
    return _CSS_SANITIZER


# A plain id is used as its own file name: ASCII letters, digits, '_' and '-', starting with a
# letter or digit, at most 64 characters, and not a name Windows reserves for a device.
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                    *(f"lpt{i}" for i in range(10))}
RESERVED_STEMS = frozenset({"index", "practice"})


def file_stem(identifier: str) -> str:
    """The file name (without extension) of the report for an id: the id itself when it is
    plain (``C04``), otherwise a readable ASCII part and a hash of the exact id
    (``a-b.5d41402abc``).

    The two forms never meet (a plain stem has no ``.``, a hashed one always has), and two
    ids give the same hashed stem only if SHA-256 collides in its first 40 bits (checked by
    the caller, which also gives both of two ids that differ only in letter case the hashed
    form, for case-insensitive file systems). No stem is empty, starts with a dot, holds a path
    separator or names ``index``/``practice``.
    """
    ident = str(identifier)
    if _PLAIN.fullmatch(ident) and ident.lower() not in _WINDOWS_DEVICES \
            and ident.lower() not in RESERVED_STEMS:
        return ident
    return hashed_stem(ident)


def hashed_stem(identifier: str) -> str:
    """The always-hashed form of :func:`file_stem`."""
    ident = str(identifier)
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", ident).strip("-_")[:40] or "id"
    digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:10]
    return f"{readable}.{digest}"


def file_stems(identifiers) -> dict[str, str]:
    """:func:`file_stem` for a set of ids, with ids that would clash on a case-insensitive
    file system (``C01`` and ``c01``) moved to the hashed form. Raises ``RuntimeError`` on a
    hash clash (a perfkit bug to report, not a user error)."""
    ids = list(dict.fromkeys(str(i) for i in identifiers))
    stems = {i: file_stem(i) for i in ids}
    by_folded: dict[str, list[str]] = {}
    for ident, stem in stems.items():
        by_folded.setdefault(stem.lower(), []).append(ident)
    for group in by_folded.values():
        if len(group) > 1:
            for ident in group:
                stems[ident] = hashed_stem(ident)
    if len({s.lower() for s in stems.values()}) != len(stems):
        raise RuntimeError("two ids map to one report file name")
    return stems


def href(relative_path: str) -> str:
    """A relative link to a report file, percent-encoded (``#`` and ``?`` in a name stay part
    of it), safe inside a double-quoted HTML attribute."""
    return html.escape(urllib.parse.quote(relative_path, safe="/"), quote=True)


def css_string(value) -> str:
    """A value as a double-quoted CSS string that shows exactly as written, safe inside an
    HTML ``<style>`` element: every character but an ASCII letter or digit is written as a CSS
    escape (``\\HHHHHH`` and a space), so no quote, backslash, ``<``, ``}`` or line break of
    the value reaches the style sheet, and the element cannot be closed from inside.

    Examples
    --------
    >>> print(css_string('A&B "</style>'))
    "A\\26 B\\20 \\22 \\3c \\2f style\\3e "
    """
    text = "" if value is None else str(value)
    return '"' + "".join(c if c.isascii() and c.isalnum() else _css_escape(c)
                         for c in text) + '"'


def _css_escape(char: str) -> str:
    code = ord(char)
    if code == 0 or 0xD800 <= code < 0xE000:  # CSS reads U+0000 and surrogates as U+FFFD
        code = 0xFFFD
    return f"\\{code:x} "


# One plain address (``name@example.org``): no display name, no spaces, no line breaks (an
# address goes into a message header, where a line break would add headers of its own), and a
# domain with at least one dot. Deliberately narrower than RFC 5322: a roster or parameters file
# holds work addresses, and anything unusual is better asked about than sent to.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_email_address(value) -> bool:
    """Whether ``value`` is one plain e-mail address (``name@example.org``), safe to put in
    a ``To`` header as it is.

    Examples
    --------
    >>> is_email_address("maya.okafor@example.org"), is_email_address("a@b\\nBcc: x@y.org")
    (True, False)
    """
    if not isinstance(value, str) or len(value) > 254:
        return False
    local = value.split("@", 1)[0]
    return bool(_EMAIL.fullmatch(value)) and ".." not in local and not local.startswith(".") \
        and not local.endswith(".")


def distinct_names(names: dict) -> dict[str, str]:
    """Clinicians' names as reports show them (``{id: name}``): a name that two or more
    clinicians share, letter case and spacing aside, carries its id (``Aisha Moreau (C07)``),
    so that no reader takes one clinician's figures for another's. Other names are shown as
    they are written."""
    def key(name) -> str:
        return " ".join(str(name).split()).casefold()

    seen: dict[str, int] = {}
    for name in names.values():
        seen[key(name)] = seen.get(key(name), 0) + 1
    return {str(i): f"{n} ({i})" if seen[key(n)] > 1 else str(n) for i, n in names.items()}
