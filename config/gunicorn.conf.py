"""Gunicorn settings for GrantFlow: ``gunicorn -c config/gunicorn.conf.py 'app:create_app()'``.

Gunicorn writes ``Server: gunicorn`` on every response with no setting to turn it off; the banner only helps
an attacker match versions to known flaws, so it is dropped here. Other settings come from the command line
(``--workers``, ``--bind``) or GUNICORN_CMD_ARGS.
"""

import gunicorn.http.wsgi

_default_headers = gunicorn.http.wsgi.Response.default_headers


def _without_server_banner(self):  # type: ignore[no-untyped-def]
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


gunicorn.http.wsgi.Response.default_headers = _without_server_banner  # type: ignore[method-assign]
