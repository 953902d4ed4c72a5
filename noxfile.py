"""Sessions: lint, tests, package, docs, bench. Each installs the project into its own venv."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests", "package"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def lint(session: nox.Session) -> None:
    """Lint the code (ruff) and the rules (detection validate + detection lint)."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", "detection", "tests", "benchmarks", "scripts", "noxfile.py")
    session.run("detection", "validate")
    session.run("detection", "lint")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, which also runs every rule's fixture cases through the pytest plugin."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def package(session: nox.Session) -> None:
    """Gate the rules (detection check) and build dist/: ndjson for Kibana, manifest, checksums."""
    session.install(".")
    session.run("detection", "check")
    session.run("detection", "package", "-o", "dist")


@nox.session
def docs(session: nox.Session) -> None:
    """Rule reference pages, index and ATT&CK coverage under docs/rules."""
    session.install(".")
    session.run("detection", "docs", "-o", "docs/rules")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, each reported as a ratio against a reference measured in the same run."""
    session.install(".")
    session.run("python", "benchmarks/run.py", *session.posargs)
