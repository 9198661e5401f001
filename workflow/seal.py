"""Signed checkpoints: each checkpoint digest is signed with an Ed25519 key that the database never holds.

Whoever can write to the database can rewrite a chain and every checkpoint after it, recomputing each hash;
they cannot sign the new digests. ``audit checkpoint --key`` signs each digest it writes and appends it to a
file of published digests (kept, and copied, outside the database); ``audit verify --public-key --published``
then checks every checkpoint's signature, that each published digest is still in the trail, and that the data
rows still agree with their chains (:mod:`workflow.consistency`). See docs/security.md (key custody).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from workflow import audit, consistency
from workflow.audit import AuditEvent, VerifyResult
from workflow.chaincheck import CHECKPOINT_CHAIN, Break
from workflow.storage import create_db_engine

# Domain separation: a GrantFlow checkpoint signature can never be replayed as a signature over anything else.
_CONTEXT = b"GrantFlow audit checkpoint digest v1\n"


class KeyFileError(Exception):
    """A key file that is missing, unreadable or of the wrong kind."""


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256(raw).hexdigest()[:16]


def generate_key_pair(private_path: Path, public_path: Path) -> str:
    """Write a new private key (PEM, mode 0600) and its public key (PEM); refuses to overwrite. Returns the id."""
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path}: already exists; a signing key is never overwritten")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_id(key.public_key())


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: cannot read an Ed25519 private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read an Ed25519 public key: {exc}") from exc
    try:
        return parse_public_key(pem)
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc


def parse_public_key(pem: bytes) -> Ed25519PublicKey:
    """A PEM public key (as the web hands it to a verification run's process)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"cannot read an Ed25519 public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("not an Ed25519 public key")
    return key


def signer(key: Ed25519PrivateKey) -> Any:
    """What :func:`workflow.audit.checkpoint` adds to a checkpoint's diff for its digest."""
    kid = key_id(key.public_key())

    def sign(digest: str) -> dict[str, str]:
        return {"signature": key.sign(_CONTEXT + digest.encode("ascii")).hex(), "key_id": kid}

    return sign


def signature_ok(public_key: Ed25519PublicKey, digest: str, signature: object) -> bool:
    if not isinstance(signature, str):
        return False
    try:
        public_key.verify(bytes.fromhex(signature), _CONTEXT + digest.encode("ascii"))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- published digests: one JSON object a line, {"seq", "digest", "signature", "key_id", "event_id"} -------


def publication(event: AuditEvent) -> str:
    diff = event.diff
    return json.dumps({"seq": event.seq, "event_id": event.id, "digest": diff["digest"],
                       "signature": diff.get("signature"), "key_id": diff.get("key_id"),
                       "at": audit.format_time(event.occurred_at)}, sort_keys=True) + "\n"


def read_published(path: str | Path) -> list[dict[str, Any]]:
    """The published digests, oldest first; a bad line is ``FILE:LINE: what``."""
    entries = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                entries.append({"seq": int(entry["seq"]), "digest": str(entry["digest"])})
            except (ValueError, KeyError, TypeError) as exc:
                raise KeyFileError(f"{path}:{number}: not a published digest ({exc})") from exc
    return entries


# --- verification given the public key and the published digests ------------------------------------------


@dataclass
class SealedResult:
    """What ``audit verify`` found: the chains (:class:`VerifyResult`), then signatures, published digests and
    data rows. ``unsealed`` names chain heads that no signed checkpoint covers yet."""

    chains: VerifyResult
    problems: list[Break] = field(default_factory=list)
    unsealed: list[Break] = field(default_factory=list)
    signed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Break | None:
        return self.problems[0] if self.problems else None


def check_signatures(checkpoints: Iterable[tuple[int, int, dict[str, Any]]],
                     public_key: Ed25519PublicKey) -> list[Break]:
    return [Break(event_id, CHECKPOINT_CHAIN, seq, "forged",
                  f"its digest is not signed by the audit key {key_id(public_key)}"
                  + ("" if "heads" not in diff else f" (it covers {', '.join(sorted(diff['heads']))})"))
            for event_id, seq, diff in checkpoints
            if not signature_ok(public_key, str(diff.get("digest")), diff.get("signature"))]


def check_published(checkpoints: list[tuple[int, int, dict[str, Any]]],
                    published: Iterable[dict[str, Any]]) -> list[Break]:
    by_seq = {seq: (event_id, diff.get("digest")) for event_id, seq, diff in checkpoints}
    problems = []
    for entry in published:
        event_id, digest = by_seq.get(entry["seq"], (0, None))
        if digest is None:
            problems.append(Break(0, CHECKPOINT_CHAIN, entry["seq"], "missing",
                                  f"the published checkpoint #{entry['seq']} (digest {entry['digest']}) is no "
                                  "longer in the trail"))
        elif digest != entry["digest"]:
            problems.append(Break(event_id, CHECKPOINT_CHAIN, entry["seq"], "changed",
                                  f"checkpoint #{entry['seq']} no longer has the published digest {entry['digest']}"))
    return problems


def _unsealed(session: Session, checkpoints: list[tuple[int, int, dict[str, Any]]],
              trusted: set[int]) -> list[Break]:
    """Chain heads past what the trusted (validly signed) checkpoints cover."""
    sealed: dict[str, int] = {}
    for event_id, _seq, diff in checkpoints:
        if event_id in trusted:
            sealed.update((name, seq) for name, (seq, _h) in diff.get("heads", {}).items())
    out = []
    for name, (seq, _hash) in sorted(audit._current_heads(session).items()):
        covered = sealed.get(name, 0)
        if seq > covered:
            subject_type, _, subject_id = name.partition(":")
            first = session.scalar(select(AuditEvent.id).where(
                AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id,
                AuditEvent.seq == covered + 1))
            out.append(Break(first or 0, name, covered + 1, "unsealed",
                             f"#{covered + 1}..#{seq} are covered by no signed checkpoint yet"))
    return out


def verify(source: Engine | Connection | Session, *, public_key: Ed25519PublicKey | None = None,
           published: list[dict[str, Any]] | None = None, require_sealed: bool = False,
           check_data: bool = True, workers: int = 1, recheck_rows: bool = False,
           progress: Callable[[int], None] | None = None) -> SealedResult:
    """:func:`workflow.audit.verify_chain`, then signatures (given the public key), published digests and data."""
    chains = audit.verify_chain(source, workers=workers, progress=progress, recheck_rows=recheck_rows)
    result = SealedResult(chains, list(chains.problems))
    engine = audit._engine_of(source)
    with engine.connect() as conn, Session(bind=conn) as session:
        checkpoints = list(audit._checkpoint_diffs(session))
        if public_key is not None:
            forged = check_signatures(checkpoints, public_key)
            result.problems += forged
            trusted = {event_id for event_id, _s, _d in checkpoints} - {b.event_id for b in forged}
            result.signed = len(trusted)
            result.unsealed = _unsealed(session, checkpoints, trusted)
            if require_sealed:
                result.problems += result.unsealed
        if published:
            result.problems += check_published(checkpoints, published)
        if check_data:
            result.problems += consistency.check(conn)
    result.problems.sort(key=lambda b: (b.event_id == 0, b.event_id))
    return result


# --- command line -------------------------------------------------------------------------------------------


def cli_keygen(private_path: str, public_path: str) -> int:
    try:
        kid = generate_key_pair(Path(private_path), Path(public_path))
    except (KeyFileError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"audit signing key {kid}: private {private_path} (keep it off the database host's backups), "
          f"public {public_path}")
    return 0


def cli_checkpoint(url: str, key_path: str | None, publish_path: str | None) -> int:
    """Verify the trail, then write a (signed) checkpoint and append its digest to the published file.
    A broken trail is never sealed."""
    try:
        key = load_private_key(key_path) if key_path else None
    except KeyFileError as exc:
        print(f"error: {exc}")
        return 2
    engine = create_db_engine(url)
    try:
        chains = audit.verify_chain(engine)
        if not chains.ok:
            print(f"BROKEN, not sealed: {chains.first}")
            return 1
        with Session(engine, expire_on_commit=False) as session, session.begin():
            event = audit.checkpoint(session, sign=signer(key) if key else None)
    finally:
        engine.dispose()
    if event is None:
        print("nothing moved since the last checkpoint")
        return 0
    if publish_path:
        with open(publish_path, "a", encoding="utf-8") as out:
            out.write(publication(event))
    signed = f", signed by {event.diff['key_id']}" if key else " (unsigned: no --key)"
    print(f"checkpoint {event.id}: {len(event.diff['heads'])} chain head(s) moved; "
          f"digest {event.diff['digest']}{signed}")
    return 0


def cli_verify(url: str, *, workers: int = 1, public_key_path: str | None = None,
               published_path: str | None = None, require_sealed: bool = False, recheck_rows: bool = False) -> int:
    try:
        public_key = load_public_key(public_key_path) if public_key_path else None
        published = read_published(published_path) if published_path else None
    except (KeyFileError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    engine = create_db_engine(url)
    try:
        result = verify(engine, public_key=public_key, published=published, require_sealed=require_sealed,
                        workers=workers, recheck_rows=recheck_rows)
    finally:
        engine.dispose()
    chains = result.chains
    if not result.ok:
        for problem in result.problems:
            print(f"BROKEN: {problem}")
        return 1
    sealed = (f"; {result.signed} signed checkpoint(s), {len(result.unsealed)} chain(s) with events not yet sealed"
              if public_key else "")
    rows = "each row's hash and columns proven by the database's row check" if chains.rows_proven else \
        "each row's hash and columns checked"
    print(f"OK {chains.count} events, {chains.checkpoints} checkpoints; head digest {chains.head_digest}{sealed}; "
          f"{rows}")
    return 0
