"""Redaction of secrets in everything that enters a support package.

A :class:`Redactor` is fed the bytes of one item chunk by chunk and gives back the same bytes with
secrets replaced by ``[redacted]``. It works line by line with bounded memory: a line longer than
:data:`MAX_LINE` is treated as if it ended there. What it removes:

- values of keys that name a secret (password, passwd, secret, token, api_key, private_key,
  credential, authorization, cookie, psk, …) in ``key=value``, ``key: value``, JSON, YAML and INI
  shapes, and in ``--password x`` command-line options;
- bearer tokens, ``Cookie:``/``Set-Cookie:`` values, ``session=…`` cookies, passwords in URLs;
- whole PEM private key blocks;
- literal secrets the caller knows (the app's secret key, token hashes), wherever they appear.

Lines without any candidate word are passed through untouched, which keeps large logs fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

MARK = b"[redacted]"
MAX_LINE = 1 << 20
MIN_LITERAL = 4

_KEYWORD = (
    rb"(?:pass(?:word|wd|phrase)?|pwd|secret|token|credentials?|authorization|set-cookie|cookie"
    rb"|psk|(?:api|private|secret|access|auth|encryption|signing|master|ssh|wifi|wpa)[_.-]?key"
    rb"|apikey)"
)
_KEY = rb"[\w.-]*" + _KEYWORD + rb"[\w.-]*"
_QUOTED = rb'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''

# (pattern, replacement, any of these in the lower-cased line or the pattern cannot match):
# each keeps group 1 (the key) and replaces the value.
_KEPT = rb"\1" + MARK
_LINE_PATTERNS = [
    # JSON: "password": "x" — a bare JSON value ends at , } or ]; the result stays JSON.
    (re.compile(rb'("' + _KEY + rb'"\s*:\s*)(?:' + _QUOTED + rb'|[^\s,}\]]+)', re.I),
     rb'\1"' + MARK + rb'"', (b'":', b'" :', b'"\t')),
    # key=value, key: value, key = value (env, INI, YAML, headers): to the end of the line.
    (re.compile(rb"((?<![\w.\"-])" + _KEY + rb"'?[ \t]*[:=][ \t]*)(?:" + _QUOTED + rb"|\S.*)",
                re.I), _KEPT, (b":", b"=")),
    # Space-separated configs (ifupdown's "wpa-psk x", sshd-like "Password x") at line start.
    (re.compile(rb"(^[ \t]*" + _KEY + rb"[ \t]+)(?![:=])\S.*", re.I), _KEPT, (b" ", b"\t")),
    # --password x / -password=x on command lines.
    (re.compile(rb"((?<![\w-])--?[\w-]*" + _KEYWORD + rb"[\w-]*[ =])\S+", re.I), _KEPT,
     (b"-",)),
    (re.compile(rb"(\bbearer\s+)[\w.~+/=-]+", re.I), _KEPT, (b"bearer",)),
    (re.compile(rb"(\b(?:session(?:[_-]?id)?|sessid|phpsessid|sid)=)[^;\s&\"']+", re.I), _KEPT,
     (b"sid=", b"session=", b"session_id=", b"session-id=", b"sessionid=")),
    (re.compile(rb"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+(?=@)", re.I), _KEPT, (b"@",)),
]
# A line needs a closer look only if its lower-cased text contains one of these words (and,
# when given, one of the endings right after it); bytes.find scans for them far faster than a
# regex alternation would. They are as narrow as the patterns allow, so everyday log lines
# ("session opened", "authentication failure") take the fast path.
_CANDIDATES: tuple[tuple[bytes, tuple[bytes, ...] | None], ...] = (
    (b"pass", None), (b"pwd", None), (b"secret", None), (b"token", None), (b"credential", None),
    (b"authorization", None), (b"cookie", None), (b"psk", None), (b"key", None),
    (b"bearer", None), (b"sid=", None), (b"session", (b"=", b"id=", b"_id=", b"-id=")),
    (b"://", None),
)
_PEM_ONE_LINE = re.compile(
    rb"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----).*?(-----END [A-Z0-9 ]*PRIVATE KEY-----)")
_PEM_BEGIN = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END = re.compile(rb"-----END [A-Z0-9 ]*PRIVATE KEY-----")


def redact_line(line: bytes) -> bytes:
    """Secrets of one line (without its newline) replaced by ``[redacted]``."""
    if b"PRIVATE KEY-----" in line:
        line = _PEM_ONE_LINE.sub(rb"\1" + MARK + rb"\2", line)
    lower = line.lower()
    for pattern, replacement, needs in _LINE_PATTERNS:
        if any(n in lower for n in needs):
            line = pattern.sub(replacement, line)
    return line


class Redactor:
    """Streaming redaction of one item: call :meth:`feed` per chunk, then :meth:`flush`.

    ``literals`` are exact secrets to remove anywhere; ``transform`` (the obfuscator) is applied to
    complete lines after redaction.
    """

    def __init__(self, literals: Iterable[str | bytes] = (),
                 transform: Callable[[bytes], bytes] | None = None):
        encoded = {s.encode() if isinstance(s, str) else bytes(s) for s in literals}
        # Very short literals would wipe ordinary text; longest first so no prefix survives.
        self.literals = sorted((s for s in encoded if len(s) >= MIN_LITERAL and b"\n" not in s),
                               key=len, reverse=True)
        self.transform = transform
        self._pending = b""
        self._in_pem = False

    def feed(self, chunk: bytes) -> bytes:
        """Redacted complete lines of ``chunk``; an unfinished last line waits for more."""
        data = self._pending + chunk if self._pending else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) < MAX_LINE:
                self._pending = data
                return b""
            cut = len(data)
        self._pending = data[cut:]
        return self._lines(data[:cut])

    def flush(self) -> bytes:
        """Whatever is left after the last newline, redacted."""
        data, self._pending = self._pending, b""
        return self._lines(data) if data else b""

    def redact(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Redacted chunks of a whole item."""
        for chunk in chunks:
            out = self.feed(chunk)
            if out:
                yield out
        tail = self.flush()
        if tail:
            yield tail

    def _lines(self, data: bytes) -> bytes:
        for literal in self.literals:
            data = data.replace(literal, MARK)
        if self._in_pem or b"PRIVATE KEY-----" in data:
            data = self._pem_lines(data)
        else:
            data = self._candidate_lines(data)
        return self.transform(data) if self.transform is not None else data

    def _candidate_lines(self, data: bytes) -> bytes:
        lower = data.lower()
        starts = set()
        for word, endings in _CANDIDATES:
            found = lower.find(word)
            while found >= 0:
                if endings is not None and not lower.startswith(endings, found + len(word)):
                    found = lower.find(word, found + 1)
                    continue
                starts.add(lower.rfind(b"\n", 0, found) + 1)
                end = lower.find(b"\n", found)
                found = lower.find(word, end) if end >= 0 else -1
        if not starts:
            return data
        parts = []
        done = 0
        for begin in sorted(starts):
            end = data.find(b"\n", begin)
            end = len(data) if end < 0 else end
            parts += (data[done:begin], redact_line(data[begin:end]))
            done = end
        parts.append(data[done:])
        return b"".join(parts)

    def _pem_lines(self, data: bytes) -> bytes:
        out = []
        for line in data.splitlines(keepends=True):
            if self._in_pem:
                if _PEM_END.search(line):
                    self._in_pem = False
                    out.append(MARK + b"\n" + line)
                continue
            begin = _PEM_BEGIN.search(line)
            if begin and not _PEM_END.search(line, begin.end()):
                self._in_pem = True
                out.append(self._candidate_lines(line[:begin.end()]) + b"\n")
                continue
            out.append(self._candidate_lines(line))
        if self._in_pem and not data.endswith(b"\n"):
            out.append(b"\n")
        return b"".join(out)
