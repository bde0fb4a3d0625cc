"""Fingerprints of what each element's geometry is made of, from a fast scan of the STEP text.

After an IFC file was edited (one duct moved), its content hash changes and the per-file mesh cache
misses: the reader would tessellate every element again. A fingerprint says which elements cannot
have changed: it is a Merkle hash of the element's STEP record and everything it references
(placement chain, representation, profiles, mapped items, contexts...), each reference replaced by
the hash of the referenced record, so entity numbers do not matter (a re-export that renumbers
every line keeps the fingerprints) while any change of a referenced value does. Owner histories
(edit dates) are left out. The caller adds what reaches an element from outside its references:
the openings cut into it (:func:`element_fingerprints` takes them as ``extra`` ids) and a
file-wide part (schema, the project record with its units and contexts).

Pure text and hashing (no ifcopenshell): ``scan_records`` reads the DATA section once
(``#id = TYPE(args);``, strings with quotes and semicolons handled); ``merkle`` hashes on demand
with a memo, iteratively (no recursion limit).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

__all__ = ["scan_records", "merkle", "element_fingerprints"]

_RECORD = re.compile(rb"#(\d+)\s*=\s*([A-Za-z0-9_]*)\s*\(((?:[^;']|'(?:[^']|'')*')*)\)\s*;")
_TOKEN = re.compile(rb"'(?:[^']|'')*'|#(\d+)")
_OWNER = b"IFCOWNERHISTORY"


def scan_records(data: bytes) -> dict[int, tuple[bytes, bytes]]:
    """``step id -> (TYPE in upper case, argument text)`` of every entity record in the DATA section
    (a complex record ``#5=(IFCA(...)IFCB(...));`` has an empty TYPE and its parts as text).

    >>> scan_records(b"DATA;\\n#1=IFCCARTESIANPOINT((0.,0.,1.));\\n#2= IfcDirection ((1.,0.,0.));\\nENDSEC;")
    {1: (b'IFCCARTESIANPOINT', b'(0.,0.,1.)'), 2: (b'IFCDIRECTION', b'(1.,0.,0.)')}
    """
    start = data.find(b"DATA;")
    body = data[start:] if start >= 0 else data
    return {int(m.group(1)): (m.group(2).upper(), m.group(3)) for m in _RECORD.finditer(body)}


def merkle(records: Mapping[int, tuple[bytes, bytes]], roots: Iterable[int],
           memo: dict[int, bytes] | None = None) -> dict[int, bytes]:
    """16-byte hash of each record in ``roots`` and of everything it references (memo filled in place).

    A reference to an owner history hashes as a constant; a reference to a record the scan did not find
    raises ``ValueError`` (the caller then trusts nothing).

    >>> recs = scan_records(b"#1=A(#2,'x #2');#2=B(1.);#3=A(#4,'x #2');#4=B(1.);#5=A(#6,'x #2');#6=B(2.);")
    >>> h = merkle(recs, [1, 3, 5])
    >>> h[1] == h[3], h[1] == h[5]
    (True, False)
    """
    memo = {} if memo is None else memo
    for root in roots:
        if root in memo:
            continue
        stack = [root]
        while stack:
            rid = stack[-1]
            if rid in memo:
                stack.pop()
                continue
            rec = records.get(rid)
            if rec is None:
                raise ValueError(f"#{rid} is referenced but was not read")
            if rec[0] == _OWNER:
                memo[rid] = b"\0" * 16
                stack.pop()
                continue
            refs = [int(m.group(1)) for m in _TOKEN.finditer(rec[1]) if m.group(1) is not None]
            todo = [r for r in refs if r not in memo and r != rid]
            if todo:
                stack.extend(todo)
                if len(stack) > 4 * len(records) + 16:      # a reference cycle (not valid STEP): give up on it
                    raise ValueError(f"reference cycle through #{rid}")
                continue
            h = hashlib.blake2b(rec[0], digest_size=16)
            h.update(_TOKEN.sub(lambda m: m.group(0) if m.group(1) is None else memo[int(m.group(1))].hex().encode(),
                                rec[1]))
            memo[rid] = h.digest()
            stack.pop()
    return memo


def element_fingerprints(path: str | Path, elements: Mapping[str, int], extra: Mapping[str, Sequence[int]] = {},
                         *, context: Iterable[int] = (), salt: str = "",
                         records: Mapping[int, tuple[bytes, bytes]] | None = None) -> dict[str, bytes]:
    """Fingerprint of each element's geometry inputs.

    Parameters
    ----------
    path : the IFC (STEP text) file
    elements : GlobalId -> step id of the element record
    extra : GlobalId -> step ids of more records its geometry depends on (openings voiding it)
    context : step ids of file-wide records (the project: units, representation contexts)
    salt : more text in every fingerprint (schema, geometry settings)
    records : :func:`scan_records` of the file if already made (the file is not read then)

    Returns
    -------
    GlobalId -> 16-byte digest. Equal digests in two versions of a file mean the same geometry inputs.
    """
    records = scan_records(Path(path).read_bytes()) if records is None else records
    memo: dict[int, bytes] = {}
    ctx = hashlib.blake2b(salt.encode(), digest_size=16)
    for h in (merkle(records, [c], memo)[c] for c in sorted(context)):
        ctx.update(h)
    base = ctx.digest()
    out: dict[str, bytes] = {}
    for gid, sid in elements.items():
        more = sorted(extra.get(gid, ()))
        merkle(records, [sid, *more], memo)
        h = hashlib.blake2b(base, digest_size=16)
        h.update(memo[sid])
        for x in more:
            h.update(memo[x])
        out[gid] = h.digest()
    return out
