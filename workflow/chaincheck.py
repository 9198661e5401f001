#!/usr/bin/env python3
"""Hash-chain rules of the GrantFlow audit trail, and an offline verifier for an export.

Standard library only: ``tools/verify_audit_export.py`` is this very file, so an auditor can copy it and run

    python verify_audit_export.py audit.jsonl --digest HEAD_DIGEST

on their own machine. ``workflow.audit`` uses the same rules against the database.

An event's hash is SHA-256 over the canonical JSON (sorted keys, compact separators, UTF-8) of its fields,
``prev_hash`` included. Each subject has its own chain (``seq`` 1, 2, ...); checkpoint events, in the chain
``audit:checkpoint``, commit to every other chain's head. The head digest commits to every chain head.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

GENESIS = "0" * 64
CHECKPOINT_CHAIN = "audit:checkpoint"  # chains are named "subject_type:subject_id"
# The fields an event's hash covers (everything but the database id and the hash itself).
FIELDS = (
    "action", "actor_id", "actor_role", "actor_unit", "comment", "diff", "from_state", "inputs", "occurred_at",
    "outcome", "prev_hash", "reasons", "request_id", "seq", "subject_id", "subject_type", "to_state",
    "workflow", "workflow_sha256", "workflow_version",
)
# Fields only some events carry, hashed when present: a record imported from old files has ``effective_at`` (the
# historical date; ``occurred_at`` stays the real time of recording) and ``imported: true``. Events without them
# keep the body (and hash) they always had.
OPTIONAL_FIELDS = ("effective_at", "imported")


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # one, not one per call


def canonical(fields: dict[str, Any]) -> str:
    return _CANONICAL.encode(fields)


def digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def chain_name(subject_type: str, subject_id: str) -> str:
    return f"{subject_type}:{subject_id}"


_DIGEST_CHUNK = 1_024  # heads rendered at a time


def head_digest(heads: dict[str, tuple[int, str]]) -> str:
    """SHA-256 over every chain head ``[chain, seq, hash]``, sorted by chain name: the digest of
    ``canonical({"heads": listing})``, hashed a chunk of heads at a time so the listing is never held whole."""
    h = hashlib.sha256(b'{"heads":[')
    names = sorted(heads)
    for start in range(0, len(names), _DIGEST_CHUNK):
        chunk = [[name, *heads[name]] for name in names[start:start + _DIGEST_CHUNK]]
        listed = canonical({"heads": chunk})[len('{"heads":['):-len("]}")]
        h.update((b"," if start else b"") + listed.encode("utf-8"))
    h.update(b"]}")
    return h.hexdigest()


@dataclass(frozen=True)
class Row:
    """What chain checking needs of one stored event."""

    id: int
    chain: str
    seq: int
    prev_hash: str
    hash: str
    body_ok: bool  # the stored hash is the SHA-256 of the stored fields


@dataclass(frozen=True)
class Break:
    """The first thing wrong with one event: ``kind`` is changed, missing, inserted or reordered."""

    event_id: int
    subject: str
    seq: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"event {self.event_id} ({self.subject} #{self.seq}) {self.kind}: {self.detail}"


def classify_chain(rows: list[Row]) -> Break | None:
    """The first break in one chain, its rows ordered by ``(seq, id)``; None when the chain is sound."""
    by_hash = {r.hash: r for r in rows}
    for i, r in enumerate(rows):
        prev = rows[i - 1] if i else None
        name = r.chain
        expected_seq = prev.seq + 1 if prev else 1
        if prev is not None and r.seq == prev.seq:
            return Break(r.id, name, r.seq, "inserted", f"a second event with sequence {r.seq}")
        if r.prev_hash != (prev.hash if prev else GENESIS):
            return _link_break(rows, i, by_hash.get(r.prev_hash))
        if prev is not None and r.id < prev.id:
            return Break(r.id, name, r.seq, "reordered", f"it was stored before event {prev.id} (#{prev.seq})")
        if not r.body_ok:
            return Break(r.id, name, r.seq, "changed", "its fields no longer match its hash")
        if r.seq != expected_seq:
            return Break(r.id, name, r.seq, "missing", f"sequence {r.seq} follows {expected_seq - 1}")
    return None


def _link_break(rows: list[Row], i: int, target: Row | None) -> Break:
    """Why ``rows[i]`` does not link to the event before it."""
    r, prev = rows[i], (rows[i - 1] if i else None)
    name = r.chain
    before = rows[i - 2].hash if i >= 2 else GENESIS
    if prev is not None and r.prev_hash == before:
        return Break(prev.id, name, prev.seq, "inserted",
                     f"the next event (id {r.id}) links past it to the one before")
    if target is not None and target.seq >= r.seq:
        return Break(r.id, name, r.seq, "reordered",
                     f"it links to event {target.id} (#{target.seq}), which now comes after it")
    if target is not None and prev is not None:
        return Break(prev.id, name, prev.seq, "inserted",
                     f"the next event (id {r.id}) links past it to event {target.id}")
    if r.seq > (prev.seq + 1 if prev else 1):
        lost = f"#{prev.seq + 1}" if prev else "#1"
        return Break(r.id, name, r.seq, "missing", f"the event before it ({lost}) is missing")
    if prev is not None and prev.body_ok:
        return Break(prev.id, name, prev.seq, "changed",
                     f"it was altered and re-hashed; the next event (id {r.id}) still links to its original")
    return Break(r.id, name, r.seq, "changed", "its previous hash was altered")


@dataclass
class Chains:
    """Streams events in id order; keeps each chain's head and marks chains that do not link cleanly.

    With ``midway`` it holds a later stretch of the trail (ids from some point on): a chain's first event there
    is kept in ``firsts`` instead of being checked, and :meth:`absorb` links it once the stretches before it
    are known. Stretches scanned side by side and absorbed in id order give exactly what one scan would."""

    heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # chain -> (seq, hash)
    broken: set[str] = field(default_factory=set)
    count: int = 0
    midway: bool = False
    firsts: dict[str, tuple[int, str]] = field(default_factory=dict)  # chain -> (seq, prev_hash), midway only

    def add(self, chain: str, seq: int, prev_hash: str, event_hash: str, body_ok: bool) -> None:
        self.add_rows(((0, chain, seq, prev_hash, event_hash, body_ok),))

    def add_rows(self, rows: Iterable[tuple[int, str, int, str, str, bool]]) -> None:
        """Events in id order, shaped as :class:`Row` ``(id, chain, seq, prev_hash, hash, body_ok)``. The verify's
        hot loop (once per event), so spelled out on locals, with no call per event."""
        heads, broken, firsts, midway = self.heads, self.broken, self.firsts, self.midway
        count = 0
        for _id, chain, seq, prev_hash, event_hash, body_ok in rows:
            count += 1
            head = heads.get(chain)
            if head is not None:
                ok = seq == head[0] + 1 and prev_hash == head[1]
            elif midway:
                firsts[chain] = (seq, prev_hash)
                ok = True
            else:
                ok = seq == 1 and prev_hash == GENESIS
            if not (ok and body_ok):
                broken.add(chain)
            if head is None or seq > head[0]:
                heads[chain] = (seq, event_hash)
        self.count += count

    def absorb(self, later: Chains) -> None:
        """Continue with the stretch (scanned ``midway``) that follows what this has seen."""
        self.count += later.count
        self.broken |= later.broken
        for chain, (seq, prev_hash) in later.firsts.items():
            if not _links(self.heads.get(chain), seq, prev_hash):
                self.broken.add(chain)
        for chain, (seq, event_hash) in later.heads.items():
            head = self.heads.get(chain)
            if head is None or seq > head[0]:
                self.heads[chain] = (seq, event_hash)

    def head_digest(self) -> str:
        return head_digest(self.heads)


def _links(head: tuple[int, str] | None, seq: int, prev_hash: str) -> bool:
    """Whether an event at ``seq`` after ``prev_hash`` follows its chain's ``head`` (None: a new chain)."""
    if head is None:
        return seq == 1 and prev_hash == GENESIS
    return seq == head[0] + 1 and prev_hash == head[1]


def check_checkpoints(checkpoints: Iterable[tuple[int, int, dict[str, Any]]],
                      hash_at: Callable[[str, int], str | None]) -> tuple[list[Break], list[str]]:
    """Replay checkpoint diffs ``(id, seq, diff)``: every head they name must still be in its chain, and each
    digest must match the heads so far. Returns the breaks and every checkpoint digest, oldest first."""
    heads: dict[str, tuple[int, str]] = {}
    problems: list[Break] = []
    digests: list[str] = []
    for event_id, seq, diff in checkpoints:
        for name, (head_seq, head_hash) in sorted(diff.get("heads", {}).items()):
            stored = hash_at(name, head_seq)
            if stored is None:
                problems.append(Break(event_id, CHECKPOINT_CHAIN, seq, "missing",
                                      f"it names {name} #{head_seq}, which is no longer in the trail"))
            elif stored != head_hash:
                problems.append(Break(event_id, CHECKPOINT_CHAIN, seq, "changed",
                                      f"{name} #{head_seq} no longer has the hash it recorded"))
            heads[name] = (head_seq, head_hash)
        if diff.get("digest") != head_digest(heads):
            problems.append(Break(event_id, CHECKPOINT_CHAIN, seq, "changed",
                                  "its digest does not match the heads it lists"))
        digests.append(str(diff.get("digest")))
    return problems, digests


# --- offline verification of an export (one JSON object per line: {"id", "hash", "event"}) -------------


@dataclass
class ExportResult:
    ok: bool
    count: int
    head_digest: str
    problems: list[Break]
    matched: str  # how the digest given matched: "head", "checkpoint N" or ""


def _read(lines: Iterable[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    for line in lines:
        if line.strip():
            record = json.loads(line)
            yield int(record["id"]), str(record["hash"]), record["event"]


def _known_fields(event: dict[str, Any]) -> bool:
    keys = set(event)
    return set(FIELDS) <= keys and not keys - set(FIELDS) - set(OPTIONAL_FIELDS)


def verify_export(lines: Iterable[str], expected_digest: str | None = None) -> ExportResult:
    chains = Chains()
    rows: dict[str, list[Row]] = {}
    checkpoints: list[tuple[int, int, dict[str, Any]]] = []
    for event_id, event_hash, event in _read(lines):
        chain = chain_name(str(event["subject_type"]), str(event["subject_id"]))
        body_ok = _known_fields(event) and digest(canonical(event)) == event_hash
        row = Row(event_id, chain, int(event["seq"]), str(event["prev_hash"]), event_hash, body_ok)
        chains.add(chain, row.seq, row.prev_hash, row.hash, body_ok)
        rows.setdefault(chain, []).append(row)
        if chain == CHECKPOINT_CHAIN:
            checkpoints.append((event_id, row.seq, event.get("diff") or {}))
    problems = [b for key in sorted(chains.broken)
                if (b := classify_chain(sorted(rows[key], key=lambda r: (r.seq, r.id)))) is not None]
    hashes = {(r.chain, r.seq): r.hash for chain in rows.values() for r in chain}
    cp_problems, cp_digests = check_checkpoints(checkpoints, lambda k, s: hashes.get((k, s)))
    problems = sorted(problems + cp_problems, key=lambda b: b.event_id)
    head = chains.head_digest()
    matched = ""
    if expected_digest is not None:
        if expected_digest == head:
            matched = "head"
        elif expected_digest in cp_digests:
            matched = f"checkpoint {cp_digests.index(expected_digest) + 1}"
    ok = not problems and (expected_digest is None or bool(matched))
    return ExportResult(ok, chains.count, head, problems, matched)


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description="Verify a GrantFlow audit export offline.")
    parser.add_argument("export", help="the JSONL file written by `python -m workflow audit export`")
    parser.add_argument("--digest", help="the head digest kept outside the database")
    args = parser.parse_args(argv)
    with open(args.export, encoding="utf-8") as fh:
        result = verify_export(fh, args.digest)
    for problem in result.problems[:1]:
        print(f"BROKEN: {problem}", file=out)
    if args.digest and not result.matched:
        print(f"BROKEN: the digest given matches neither the head digest nor any checkpoint "
              f"(head digest of this export: {result.head_digest})", file=out)
    if result.ok:
        where = f" (digest matches the {result.matched})" if result.matched else ""
        print(f"OK {result.count} events, head digest {result.head_digest}{where}", file=out)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
