"""Command line: ``python -m workflow check|diagram|schema|audit|migrate``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from workflow.errors import DefinitionError


def _check(args: argparse.Namespace) -> int:
    from workflow.definitions import iter_definition_files
    from workflow.verify import check_paths

    if not args.paths:
        from workflow.registry import DEFAULT_DEFINITIONS

        args.paths = [str(DEFAULT_DEFINITIONS)]
    # A path that names nothing to check is a usage error (2), not a finding about a definition (1).
    for path in args.paths:
        if not Path(path).exists():
            print(f"python -m workflow check: error: no such file or folder: {path}", file=sys.stderr)
            return 2
        if not any(True for _ in iter_definition_files([path])):
            print(f"python -m workflow check: error: no .yaml/.yml definition under {path}", file=sys.stderr)
            return 2
    loaded, problems = check_paths(args.paths)
    for p in problems:
        print(p)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{len(loaded)} definition(s) checked: {errors} error(s), {warnings} warning(s)",
          file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


def _diagram(args: argparse.Namespace) -> int:
    from workflow.definitions import load_file
    from workflow.diagram import mermaid

    try:
        loaded = load_file(args.file)
    except DefinitionError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.highlight and args.highlight not in loaded.definition.states:
        print(f"{args.file}: no state '{args.highlight}' to highlight", file=sys.stderr)
        return 2
    sys.stdout.write(mermaid(loaded.definition, args.highlight, args.lang))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from workflow.definitions import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from workflow import audit, seal

    if args.audit_command == "verify":
        return seal.cli_verify(args.db, workers=args.workers, public_key_path=args.public_key,
                               published_path=args.published, require_sealed=args.require_sealed,
                               recheck_rows=args.recheck_rows)
    if args.audit_command == "checkpoint":
        return seal.cli_checkpoint(args.db, args.key, args.publish)
    if args.audit_command == "keygen":
        return seal.cli_keygen(args.private, args.public)
    return audit.cli_export(args.db, sys.stdout)


def _migrate(args: argparse.Namespace) -> int:
    from workflow import migrate

    return migrate.cli_migrate(args.db, args.to, dry_run=args.dry_run, allow_stranded=args.allow_stranded)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workflow", description="GrantFlow workflow engine")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="load and verify definition files or folders")
    check.add_argument("paths", nargs="*", help="default: the packaged definitions")
    check.add_argument("--strict", action="store_true", help="warnings fail the run too")
    check.set_defaults(func=_check)

    diagram = sub.add_parser("diagram", help="print a Mermaid stateDiagram-v2")
    diagram.add_argument("file")
    diagram.add_argument("--highlight", metavar="STATE")
    diagram.add_argument("--lang", choices=("vi", "en"), default="en")
    diagram.set_defaults(func=_diagram)

    schema = sub.add_parser("schema", help="print the JSON Schema of the definition format")
    schema.set_defaults(func=_schema)

    audit = sub.add_parser("audit", help="verify, checkpoint or export the audit trail; make a signing key")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    for name in ("verify", "export", "checkpoint"):
        p = audit_sub.add_parser(name)
        p.add_argument("--db", required=True, help="database URL")
        if name == "verify":
            p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                           help="processes scanning stretches of the trail side by side (default: one per CPU)")
            p.add_argument("--public-key", default=os.environ.get("AUDIT_PUBLIC_KEY_FILE"),
                           help="PEM public key: every checkpoint must be signed by its private key")
            p.add_argument("--published", help="the published digests file: each must still be in the trail")
            p.add_argument("--require-sealed", action="store_true",
                           help="events no signed checkpoint covers yet fail the run too")
            p.add_argument("--recheck-rows", action="store_true",
                           help="PostgreSQL: hash and compare every row here even where the database's validated "
                                "row check proves them (when the database's superuser is not trusted)")
        if name == "checkpoint":
            p.add_argument("--key", default=os.environ.get("AUDIT_SIGNING_KEY_FILE"),
                           help="PEM Ed25519 private key that signs the digest (never stored in the database)")
            p.add_argument("--publish", metavar="FILE", help="append the signed digest to this file")
    keygen = audit_sub.add_parser("keygen", help="write a new Ed25519 key pair for signing checkpoints")
    keygen.add_argument("--private", required=True, help="where to write the private key (mode 0600)")
    keygen.add_argument("--public", required=True, help="where to write the public key")
    audit.set_defaults(func=_audit)

    migrate = sub.add_parser("migrate", help="move live subjects to a newer definition version")
    migrate.add_argument("--db", required=True, help="database URL")
    migrate.add_argument("--to", required=True, metavar="WORKFLOW:VERSION")
    migrate.add_argument("--dry-run", action="store_true")
    migrate.add_argument("--allow-stranded", action="store_true",
                         help="move the others even though some would be stranded")
    migrate.set_defaults(func=_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
