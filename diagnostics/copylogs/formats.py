"""The three copy-log formats: recognising them, finding entry elements and reading one.

Files are read as bytes, never as lines: an entry is the span from its start tag to the next
entry's start tag, so a file with no enclosing root, CRLF, or everything on one line reads the
same. Keys (category, code) come from compiled byte patterns so that the index can count a
megabyte of entries without building XML trees; a whole element is only parsed (with
defusedxml: no DTD, no entity expansion) when it is shown.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import operator
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from diagnostics.copylogs import reference
from diagnostics.copylogs.models import CopyLogError, Entry

MAX_ELEMENT = 1 << 20
SNIFF_BYTES = 64 << 10
_CHUNK = 8192

Key = tuple[str | None, str | None]
Buffer = bytes | bytearray

_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_FILE_TAG = re.compile(rb"""<file((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>""")
_ERROR_ATTR = re.compile(rb"""\serror\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CATEGORY = re.compile(rb"<Category>([^<]*)</Category>")
_ERROR_CODE = re.compile(rb"<ErrorCode>([^<]*)</ErrorCode>")
_START_TAG = re.compile(rb"""<[^\s/>]+((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*/?>""")
_PATH_ATTR = {name: re.compile(rb"\s" + attr + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""")
              for name, attr in (("copy_log", b"Path"), ("share", b"item"))}
_CHILD = re.compile(rb"<(Category|ErrorCode|ErrorMessage|Type)>([^<]*)</\1>")
# anything a pattern cannot read exactly goes to the XML parser (defusedxml)
_NEEDS_XML_PARSER = re.compile(rb"<!|<\?|&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def unescape(raw: bytes) -> str:
    """XML text or attribute bytes as a string: predefined and numeric references only."""
    text = raw.decode("utf-8", "replace")
    if "&" not in text:
        return text
    return _ENTITY.sub(_replace_entity, text)


def _replace_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] != "#":
        return _NAMED[name]
    number = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    return chr(number) if 0 < number < 0x110000 else "\ufffd"


def check_head(head: bytes) -> None:
    """Refuse a file that declares a DTD or entities (billion laughs, external entities)."""
    if _DTD.search(head):
        raise CopyLogError("the file declares a DTD or entities (<!DOCTYPE or <!ENTITY); "
                           "such files are refused for safety")


@dataclass(frozen=True)
class Format:
    """How to find and read the entries of one format.

    ``name`` is ``share`` (per-share Upload/Refresh logs), ``copy_log`` (service copy logs) or
    ``validation`` (copy-time ``error.xml``).
    """

    name: str
    marker: bytes
    start: re.Pattern[bytes]
    fast_key: re.Pattern[bytes]

    def count(self, data: Buffer, end: int | None = None) -> int:
        """Number of entry start tags in ``data[:end]``."""
        end = len(data) if end is None else end
        if self.name == "copy_log":
            return data.count(self.marker, 0, end)
        return len(self.start.findall(data, 0, end))

    def starts(self, data: bytes) -> list[int]:
        """Offsets of the entry start tags in ``data``, in order."""
        if self.name != "copy_log":
            return [match.start() for match in self.start.finditer(data)]
        # split and running sums stay in C: several times faster than a match per entry
        parts = data.split(self.marker)
        if len(parts) == 1:
            return []
        sums = itertools.accumulate(map(len, parts[1:-1]), initial=len(parts[0]))
        return list(map(operator.add, sums, range(0, len(parts) * len(self.marker),
                                                  len(self.marker))))

    def last_start(self, data: Buffer, end: int) -> int:
        """Offset of the last possible entry start in ``data[1:end]``, or -1."""
        pos = end
        while True:
            pos = data.rfind(self.marker, 1, pos)
            if pos <= 0 or self.name == "copy_log":
                return pos
            follow = data[pos + len(self.marker): pos + len(self.marker) + 1]
            if not follow or follow in b" \t\r\n/>":
                return pos

    def element_end(self, span: Buffer) -> int:
        """End of the element that opens ``span``, or -1 when it is not closed in ``span``."""
        if self.name == "copy_log":
            end = span.find(b"</ErroredEntity>")
            return end + len(b"</ErroredEntity>") if end >= 0 else -1
        tag = _FILE_TAG.match(span)
        if tag is None:
            return -1
        if tag.group(2):
            return tag.end()
        end = span.find(b"</file>", tag.end())
        return end + len(b"</file>") if end >= 0 else -1

    def keys(self, data: bytes) -> list[Key]:
        """(category, code) of every entry in ``data`` (a block that starts at an entry or a
        header), in order. One pattern pass when every entry is regular; else one element at a
        time, which gives the same keys."""
        raw = self.fast_key.findall(data)
        if len(raw) == self.count(data):
            known = {item: self._fast_key(item) for item in set(raw)}
            return list(map(known.__getitem__, raw))
        spans = self.spans(data)
        return [self.element_key(data[a:b]) for a, b in spans]

    def key_table(self, data: Buffer, end: int, count: int) -> tuple[list[Key], list[int]]:
        """The (category, code) pairs of the ``count`` entries of ``data[:end]`` in the order
        they first appear, and the position of each entry's pair in that table."""
        raw: list = self.fast_key.findall(data, 0, end)
        fast = len(raw) == count
        if not fast:
            raw = self.keys(bytes(memoryview(data)[:end]))
        position: dict[Key, int] = {}
        of_raw = {item: position.setdefault(self._fast_key(item) if fast else item,
                                            len(position))
                  for item in dict.fromkeys(raw)}
        return list(position), list(map(of_raw.__getitem__, raw))

    def spans(self, data: bytes) -> list[tuple[int, int]]:
        """(start, end) of every entry's span in ``data``: to the next start or the end."""
        starts = self.starts(data)
        return list(zip(starts, [*starts[1:], len(data)], strict=False))

    def spans_of(self, data: bytes, chosen: list[int], count: int) -> list[tuple[int, int]]:
        """The spans of :meth:`spans` of the entries ``chosen`` (ascending) of the ``count`` in
        ``data``; a few are found by counting start tags a chunk at a time, then walking."""
        if self.name != "copy_log" or len(chosen) > 64:
            spans = self.spans(data)
            return [spans[i] for i in chosen]
        marker, found = self.marker, []
        at, seen = 0, 0  # ``seen`` start tags begin before ``at``
        for wanted in chosen:
            while at < len(data):
                # the tags beginning in [at, at + _CHUNK)
                n = data.count(marker, at, at + _CHUNK + len(marker) - 1)
                if seen + n > wanted:
                    break
                seen, at = seen + n, at + _CHUNK
            pos = at - 1
            while seen <= wanted:
                pos, seen = data.find(marker, pos + 1), seen + 1
            at = pos + 1
            end = data.find(marker, at)
            found.append((pos, end if end >= 0 else len(data)))
        return found

    def _fast_key(self, item: bytes) -> Key:
        if self.name == "copy_log":
            category, _, rest = item.partition(b"</Category>")
            code = rest.partition(b"<ErrorCode>")[2]
            return unescape(category).strip(), unescape(code).strip()
        return _share_or_validation_key(self.name, unescape(item).strip())

    def severity(self, key: Key) -> str:
        """``error`` or ``warning`` for an entry with this (category, code)."""
        category, code = key
        if self.name == "copy_log":
            return reference.copy_log_severity(category, code)
        if self.name == "share":
            return reference.share_log_code(code or "")[2]
        return reference.validation_error(code or "")[2]

    def element_key(self, span: bytes) -> Key:
        """(category, code) of the element opening ``span``, read with patterns only."""
        if self.name == "copy_log":
            category = _CATEGORY.search(span)
            code = _ERROR_CODE.search(span)
            return (unescape(category.group(1)).strip() if category else None,
                    unescape(code.group(1)).strip() if code else None)
        tag = _FILE_TAG.match(span)
        error = _ERROR_ATTR.search(tag.group(1)) if tag else None
        if error is None:
            return None, None
        return _share_or_validation_key(self.name, unescape(error.group(1) or error.group(2))
                                        .strip())

    def path_of(self, span: bytes) -> str:
        """The path of the entry opening ``span``, read with patterns (Base64 decoded)."""
        if self.name != "validation":
            tag = _START_TAG.match(span)
            found = _PATH_ATTR[self.name].search(tag.group(1)) if tag else None
            return unescape(found.group(1) if found.group(1) is not None else found.group(2)) \
                if found else ""
        end = self.element_end(span)
        fields = _pattern_fields(span[:end] if end >= 0 else span[:MAX_ELEMENT])
        text, encoding = fields.get("<text>") or "", fields.get("name_encoding")
        return _decode_base64(text)[0] if encoding and encoding.lower() == "base64" else text

    def entry(self, span: bytes, offset: int, ordinal: int) -> Entry:
        """The entry whose element opens ``span`` (bytes up to the next entry)."""
        key = self.element_key(span)
        end = self.element_end(span)
        problem = None if end >= 0 else "the element is not closed"
        raw = span[:end] if end >= 0 else span[:MAX_ELEMENT]
        try:
            text, invalid = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, invalid = raw.decode("utf-8", "replace"), True
        element = None
        if problem is None and _NEEDS_XML_PARSER.search(raw):
            try:
                element = fromstring(text, forbid_dtd=True, forbid_entities=True,
                                     forbid_external=True)
            except (ParseError, DefusedXmlException) as exc:
                problem = f"not well-formed XML ({exc}); fields read leniently"
        fields = _fields(element) if element is not None else _pattern_fields(raw)
        return _build_entry(self.name, key, fields, offset, ordinal, invalid, problem)


def _share_or_validation_key(name: str, code: str) -> Key:
    if name == "share":
        return reference.share_log_code(code)[1], code
    return reference.validation_error(code)[1], code


def _fields(element: Element) -> dict[str, str | None]:
    fields: dict[str, str | None] = dict(element.attrib)
    for child in element:
        fields[f"<{child.tag}>"] = (child.text or "").strip()
    fields["<text>"] = (element.text or "").strip()
    return fields


def _pattern_fields(raw: bytes) -> dict[str, str | None]:
    """Attributes, child texts and text of a simple element, read with patterns: exact for
    elements without comments, CDATA or unknown entities, lenient for broken ones."""
    tag = _START_TAG.match(raw)
    fields: dict[str, str | None] = {}
    for match in _ATTR.finditer(tag.group(1) if tag else raw.partition(b">")[0]):
        fields[match.group(1).decode("ascii", "replace")] = unescape(
            match.group(2) if match.group(2) is not None else match.group(3))
    for child in _CHILD.finditer(raw):
        fields[f"<{child.group(1).decode('ascii', 'replace')}>"] = unescape(
            child.group(2)).strip()
    if tag:
        fields["<text>"] = unescape(raw[tag.end():].partition(b"<")[0]).strip()
    return fields


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


def _build_entry(name: str, key: Key, fields: dict[str, str | None], offset: int,
                 ordinal: int, invalid: bool, problem: str | None) -> Entry:
    category, code_text = key
    common = {"ordinal": ordinal, "offset": offset, "category": category}
    if name == "copy_log":
        info = reference.code_info(code_text, category)
        return Entry(**common, path=fields.get("Path") or "",
                     code=_as_code(code_text), code_name=info["name"] if info else None,
                     message=fields.get("<ErrorMessage>"), type=fields.get("<Type>"),
                     severity=reference.copy_log_severity(category, code_text),
                     cloud_format=fields.get("CloudFormat"), invalid_utf8=invalid,
                     problem=problem)
    if name == "share":
        code_name, _, severity = reference.share_log_code(code_text or "")
        info = reference.code_info(code_text)
        return Entry(**common, path=fields.get("item") or "", code=_as_code(code_text),
                     code_name=code_name, message=info["meaning"] if info else None,
                     type="File", severity=severity, local=_flag(fields.get("local")),
                     remote=_flag(fields.get("remote")), invalid_utf8=invalid,
                     problem=problem)
    code, _, severity = reference.validation_error(code_text or "")
    info = reference.code_info(code_text)
    path, encoding, raw_name = fields.get("<text>") or "", fields.get("name_encoding"), None
    if encoding and encoding.lower() == "base64":
        raw_name, path, decoded_invalid, bad = path, *_decode_base64(path)
        invalid = invalid or decoded_invalid
        problem = problem or bad
    return Entry(**common, path=path, code=code if code_text else None, code_name=code_text,
                 message=info["meaning"] if info else None, type=None, severity=severity,
                 name_encoding=encoding, raw_name=raw_name, invalid_utf8=invalid,
                 problem=problem)


def _decode_base64(text: str) -> tuple[str, bool, str | None]:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text, False, "the Base64 name could not be decoded; shown as written"
    try:
        return data.decode("utf-8"), False, None
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), True, None


def _as_code(text: str | None) -> int | str | None:
    if text is None or text == "":
        return None
    return int(text) if text.lstrip("-").isdigit() else text


COPY_LOG = Format("copy_log", b"<ErroredEntity", re.compile(rb"<ErroredEntity"),
                  re.compile(rb"<Category>([^<]*</Category>\s*<ErrorCode>[^<]*)<"))
SHARE = Format("share", b"<file", re.compile(rb"<file[\s/>]"),
               re.compile(rb'<file\s[^>]*?\berror="([^"]*)"'))
VALIDATION = Format("validation", b"<file", SHARE.start, SHARE.fast_key)
FORMATS = {f.name: f for f in (COPY_LOG, SHARE, VALIDATION)}


def sniff(head: bytes, kind: str | None = None) -> Format | None:
    """The format of a file from its first bytes, or None when it is none of the three.

    A file named or placed like a log of ``kind`` (``upload``, ``refresh``, ``copy_log``,
    ``validation``) that is empty or XML text without entries (e.g. an empty ``<ErrorList/>``)
    is a log of that kind with no entries. Raises :class:`CopyLogError` for a file that
    declares a DTD or entities.
    """
    check_head(head)
    if b"<ErroredEntity" in head or b"<CopyLog" in head:
        return COPY_LOG
    if re.search(rb"<root\s[^>]*\bcontainer\s*=|<summary\s[^>]*\bruntime\s*=", head):
        return SHARE
    tag = SHARE.start.search(head)
    if tag is not None:
        attrs = _FILE_TAG.match(head, tag.start())
        attributes = attrs.group(1) if attrs else head[tag.start(): tag.start() + 4096]
        if re.search(rb"\sitem\s*=", attributes):
            return SHARE
        if _ERROR_ATTR.search(attributes):
            return VALIDATION
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if kind in _KIND_FORMATS and (not text or text.startswith(b"<")) and b"\0" not in head:
        return FORMATS[_KIND_FORMATS[kind]]
    return None


_KIND_FORMATS = {"upload": "share", "refresh": "share", "copy_log": "copy_log",
                 "validation": "validation"}


def header(head: bytes) -> dict[str, str]:
    """Attributes of a per-share log's ``<root container machine timestamp/>`` element."""
    found = re.search(rb"<root(\s[^>]*)?/?>", head)
    if not found or not found.group(1):
        return {}
    return _attributes(found.group(1))


def _attributes(raw: bytes) -> dict[str, str]:
    return {m.group(1).decode("ascii", "replace"):
            unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in _ATTR.finditer(raw)}


def trailer(fmt: Format, tail: bytes) -> dict[str, object]:
    """The summary element at the end of a log, as ``{status, totals, disk}`` (empty if none).

    Per-share logs end with ``<summary runtime errors creates …/>``; service copy logs with
    ``<CopyLog><Status/><TotalFiles_Blobs/> or <TotalFiles/><FilesErrored/>…</CopyLog>``,
    possibly with a nested disk ``<Summary>``.
    """
    if fmt.name == "share":
        found = re.compile(rb"<summary(\s[^>]*)/?>").match(tail, max(tail.rfind(b"<summary"), 0))
        if found is None:
            return {}
        attrs = _attributes(found.group(1) or b"")
        totals = {k: _as_code(v.strip()) for k, v in attrs.items()}
        return {"totals": totals}
    if fmt.name != "copy_log":
        return {}
    start = tail.rfind(b"<CopyLog")
    end = tail.find(b"</CopyLog>", start)
    if start < 0 or end < 0:
        return {}
    try:
        element = fromstring(tail[start:end + len(b"</CopyLog>")].decode("utf-8", "replace"),
                             forbid_dtd=True)
    except (ParseError, DefusedXmlException):
        return {"problem": "the CopyLog summary element is not well-formed"}
    return _copy_log_summary(element)


def _copy_log_summary(element: Element) -> dict[str, object]:
    totals: dict[str, object] = {}
    status = None
    disk: dict[str, object] | None = None
    names = {"TotalFiles_Blobs": "total_files", "TotalFiles": "total_files",
             "FilesErrored": "files_errored", "DriveLogVersion": "drive_log_version",
             "DriveId": "drive_id"}
    for child in element:
        text = (child.text or "").strip()
        if child.tag == "Status":
            status = text
        elif child.tag == "Summary":
            disk = {group.tag: [{"name": item.tag, "count": _as_code(item.get("Count")),
                                 "description": item.get("Description")} for item in group]
                    for group in child}
        else:
            totals[names.get(child.tag, child.tag)] = _as_code(text)
    if "drive_id" in totals or "drive_log_version" in totals:
        disk = {**(disk or {}), **{k: totals.pop(k) for k in ("drive_id", "drive_log_version")
                                   if k in totals}}
    return {"status": status, "totals": totals, "disk": disk}
