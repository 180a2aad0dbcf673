"""The ``edge-webui`` console command: set up, serve and look after the web UI."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from webui import config as settings

# Plain text: argparse prints these as they are, so no reStructuredText markup.
DESCRIPTION = "Set up, serve and look after the local web UI of the edge appliance."
EPILOG = "Settings come from WEBUI_* environment variables and <instance>/config.toml (see README)."


def _app(**overrides):
    from webui import create_app

    return create_app(overrides or None)


def cmd_init(args: argparse.Namespace) -> int:
    from webui import db, instance
    from webui.auth import users

    app = _app()
    cfg = app.config
    inst = Path(cfg["INSTANCE"])
    cert, key = Path(cfg["TLS_CERT"]), Path(cfg["TLS_KEY"])
    if cfg["TLS"]:
        _ensure_certificate(cert, key, cfg["DEVICE_NAME"])
        _show_fingerprint(cert)
    password_file = inst / instance.INITIAL_PASSWORD
    with app.app_context():
        conn = db.get_db()
        if not users.all_users(conn):
            password = instance.setup_password()
            users.create(conn, users.FIRST_ACCOUNT, password, "administrator", must_change=True)
            instance.write_private(password_file, (password + "\n").encode())
            from webui import audit

            audit.record(conn, audit.CONSOLE, "user_add", users.FIRST_ACCOUNT,
                         detail="first account, from init")
            _show_setup_password(password, password_file)
        elif password_file.exists():
            _show_setup_password(password_file.read_text().strip(), password_file)
        else:
            print(f"Instance ready in {inst}. Accounts exist; "
                  "`edge-webui set-password --user NAME` resets a password.")
    return 0


def _ensure_certificate(cert: Path, key: Path, device_name: str) -> None:
    """Make the self-signed certificate when it is missing or due; leave a good one alone."""
    from webui import instance

    state, expires = instance.certificate_state(cert)
    if state == "foreign":
        print(f"edge-webui: the TLS certificate {cert} expires on {expires:%Y-%m-%d}; it was "
              "not made by edge-webui, so renew it where it came from", file=sys.stderr)
        return
    if state == "good" and key.exists():
        return
    instance.make_certificate(cert, key, device_name)
    verb = {"missing": "Created", "expiring": "Renewed"}.get(state, "Replaced")
    print(f"{verb} the self-signed TLS certificate for {device_name}: {cert} "
          f"(valid {instance.CERTIFICATE_DAYS} days)")


def _show_fingerprint(cert: Path) -> None:
    from webui.certificates.service import fingerprint_line

    line = fingerprint_line(str(cert))
    if line:
        print(f"{line}\n(compare it with the one your browser shows before accepting its "
              "warning)", flush=True)


def cmd_cert_show(args: argparse.Namespace) -> int:
    from webui.certificates import service

    in_use = service.in_use(settings.load())
    cert = in_use.certificate
    if cert is None:
        print(f"edge-webui: {in_use.path}: {in_use.problem}", file=sys.stderr)
        return 1
    facts = [("File", in_use.path), ("Subject", cert.subject),
             ("Names", ", ".join(cert.names) or "-"),
             ("Issuer", cert.issuer + (" (self-signed)" if cert.self_signed else "")),
             ("Valid from", f"{cert.not_before:%Y-%m-%d %H:%M} UTC"),
             ("Valid until", f"{cert.not_after:%Y-%m-%d %H:%M} UTC ({cert.days_left()} days)"),
             ("Key", cert.key), ("SHA-256", cert.sha256_fingerprint),
             ("State", ("valid" if in_use.valid else "not valid")
              + ("" if in_use.covers_device else f"; does not cover {in_use.device_name}"))]
    for label, value in facts:
        print(f"{label + ':':13}{value}")
    return 0


def _certificate_change(change) -> int:
    """Run ``change(conn, actor, config)`` (generate or import) as the console, audited."""
    from webui import audit, db
    from webui.certificates import service

    app = _app()
    with app.app_context():
        try:
            new = change(db.get_db(), audit.CONSOLE, app.config)
        except (service.CertificateRefused, service.InstallFailed, OSError) as exc:
            print(f"edge-webui: not changed: {exc}", file=sys.stderr)
            return 1
    for warning in getattr(new, "warnings", ()):
        print(f"edge-webui: warning: {warning}", file=sys.stderr)
    cert = getattr(new, "certificate", new)
    print(f"Installed the certificate for {', '.join(cert.names)}; a running server presents "
          f"it on new connections.\nSHA-256 fingerprint: {cert.sha256_fingerprint}")
    return 0


def cmd_cert_generate(args: argparse.Namespace) -> int:
    from webui.certificates import service

    return _certificate_change(service.generate)


def cmd_cert_import(args: argparse.Namespace) -> int:
    from webui.certificates import service

    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    try:
        files = [service.read_capped(Path(p)) for p in (args.file, args.key) if p]
    except (OSError, service.CertificateRefused) as exc:
        print(f"edge-webui: {exc}", file=sys.stderr)
        return 1
    return _certificate_change(
        lambda conn, actor, config: service.upload(conn, actor, config, files, password))


def _show_setup_password(password: str, path: Path) -> None:
    print("\n" + "=" * 64)
    print(f"  One-time setup password for user '{_first()}': {password}")
    print(f"  (also in {path}; you choose your own at first sign-in)")
    print("=" * 64 + "\n", flush=True)


def _first() -> str:
    from webui.auth.users import FIRST_ACCOUNT

    return FIRST_ACCOUNT


def cmd_serve(args: argparse.Namespace) -> int:
    from webui.server import serve

    return serve()


def _read_password(prompt: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat it: ") != first:
        raise SystemExit("edge-webui: the two entries differ; nothing changed")
    return first


def cmd_set_password(args: argparse.Namespace) -> int:
    from webui import audit, db
    from webui.auth import lockout, passwords, service, users

    app = _app()
    with app.app_context():
        conn = db.get_db()
        row = users.by_name(conn, args.user)
        if row is None and args.user != users.FIRST_ACCOUNT:
            print(f"edge-webui: no user named {args.user}", file=sys.stderr)
            return 1
        password = _read_password(f"New password for {args.user}: ")
        problem = passwords.policy_problem(password, args.user, app.config["DEVICE_NAME"])
        if problem:
            print(f"edge-webui: password not accepted: {problem}", file=sys.stderr)
            return 1
        if row is None:
            users.create(conn, args.user, password, "administrator", must_change=False)
        else:
            users.set_password(conn, row["id"], password, must_change=False)
        lockout.lift_for_console(conn, args.user)
        service.forget_setup_password(app.config["INSTANCE"], args.user)
        audit.record(conn, audit.CONSOLE, "password_set", args.user, detail="from the console")
    print(f"Password of {args.user} set; their sessions have ended.")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from webui import audit, db
    from webui.auth import users
    from webui.users import service

    app = _app()
    with app.app_context():
        try:
            new = service.create_token(db.get_db(), audit.CONSOLE, args.name, args.role,
                                       args.expires_days)
        except users.AccountError as exc:
            print(f"edge-webui: {exc}", file=sys.stderr)
            return 1
    print(new.token)
    print(f"Token '{args.name}' ({args.role}) created; it is shown only this once.",
          file=sys.stderr)
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from diagnostics import cli as diagnostics_cli
    from webui import db
    from webui.troubleshooting.service import connectivity_mode, probe_settings

    app = _app()
    with app.app_context():
        settings_ = probe_settings(app.config, connectivity_mode(db.get_db()))
    return diagnostics_cli.main(args.args, settings=settings_)


def cmd_support_package(args: argparse.Namespace) -> int:
    from diagnostics.collect import PackageError
    from webui.support.packages import console_package, settings_from

    app = _app()
    progress = None
    if sys.stderr.isatty():
        def progress(done: int, total: int, current: str | None) -> None:
            print(f"[{done}/{total}] {current or 'done'}", file=sys.stderr, flush=True)
    with app.app_context():
        try:
            info = console_package(settings_from(app.config, app.secret_key), out=args.out,
                                   collectors=args.collectors, since_hours=args.since,
                                   obfuscate=args.obfuscate, progress=progress)
        except (ValueError, PackageError) as exc:
            print(f"edge-webui: {exc}", file=sys.stderr)
            return 1
    print(info.path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-webui", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create the instance, TLS certificate and setup password",
                       epilog=EPILOG)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="serve the web UI with gunicorn", epilog=EPILOG)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("set-password", help="set a user's password (stdin when not a terminal)",
                       epilog=EPILOG)
    p.add_argument("--user", default="admin", help="user name (default: admin)")
    p.set_defaults(func=cmd_set_password)

    p = sub.add_parser("token", help="manage API tokens", epilog=EPILOG)
    token_sub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = token_sub.add_parser("create", help="create a token and print it once", epilog=EPILOG)
    t.add_argument("--name", required=True, help="what the token is for")
    t.add_argument("--role", default="viewer", choices=("administrator", "viewer"))
    t.add_argument("--expires-days", type=int, default=None, help="days until it expires")
    t.set_defaults(func=cmd_token_create)

    p = sub.add_parser("cert", help="show, generate or import the web UI's TLS certificate",
                       epilog=EPILOG)
    cert_sub = p.add_subparsers(dest="cert_command", required=True, metavar="ACTION")
    c = cert_sub.add_parser("show", help="describe the certificate in use", epilog=EPILOG)
    c.set_defaults(func=cmd_cert_show)
    c = cert_sub.add_parser("generate", help="install a new self-signed certificate for the "
                            "device name", epilog=EPILOG)
    c.set_defaults(func=cmd_cert_generate)
    c = cert_sub.add_parser("import", help="check and install a certificate: PEM (certificate, "
                            "chain, key) or PKCS#12", epilog=EPILOG)
    c.add_argument("file", metavar="FILE", help="PEM certificate with its chain (and key), or "
                   "a PKCS#12 file with --password-stdin")
    c.add_argument("--key", metavar="FILE", help="PEM private key, when not in FILE")
    c.add_argument("--password-stdin", action="store_true",
                   help="FILE is PKCS#12; read its password from the first line of stdin")
    c.set_defaults(func=cmd_cert_import)

    p = sub.add_parser("diagnose", add_help=False, help="run the diagnostic tests "
                       "(exit code 0 healthy, 1 warning, 2 unhealthy); --help for options")
    p.set_defaults(func=cmd_diagnose)

    p = sub.add_parser("support-package", help="make a support package from the console",
                       epilog=EPILOG)
    p.add_argument("--out", default=".", metavar="PATH",
                   help="directory to write the package in (default: current directory)")
    p.add_argument("--collector", action="append", dest="collectors", metavar="ID",
                   help="collector to run (repeatable; default: the default set)")
    p.add_argument("--since", type=float, default=24, metavar="HOURS",
                   help="journal and kernel log window in hours (default: 24)")
    p.add_argument("--obfuscate", action="store_true",
                   help="replace addresses, host and user names by consistent tokens")
    p.set_defaults(func=cmd_support_package)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv[:1] == ["diagnose"]:
        # Its options, --help included, belong to the diagnostics console.
        args = argparse.Namespace(func=cmd_diagnose, args=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        return args.func(args)
    except settings.ConfigError as exc:
        print(f"edge-webui: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
