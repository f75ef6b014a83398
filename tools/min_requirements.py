r"""Print pip requirements that pin every dependency of pyproject.toml to its lowest allowed version.

Usage::

    python tools/min_requirements.py [--extra dev] [--pyproject pyproject.toml] > min.txt

Each ``name>=X`` (with or without an upper bound) becomes ``name==X``; a dependency without a
lower bound is printed as it is, with a comment, since it has no minimum to test. Used by
``.github/workflows/drift.yml`` to run the tests against the oldest versions the package claims
to support.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tomllib

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")


def pin_lowest(requirement: str) -> str:
    r"""``"torch>=2.1"`` -> ``"torch==2.1"``; keeps extras and environment markers."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        raise ValueError(f"cannot parse the requirement {requirement!r}")
    name, extras, specifiers, marker = match.groups()
    lows = [s.strip()[2:].strip() for s in specifiers.split(",") if s.strip().startswith(">=")]
    if not lows:
        return f"{requirement}  # no lower bound"
    return f"{name}{extras or ''}=={lows[0]}{marker or ''}"


def requirements(pyproject: dict, extras: list[str]) -> list[str]:
    r"""The project's dependencies plus those of ``extras``, without duplicates, in order."""
    project = pyproject["project"]
    found: dict[str, str] = {}
    for requirement in [
        *project.get("dependencies", []),
        *(r for e in extras for r in project.get("optional-dependencies", {})[e]),
    ]:
        name = REQUIREMENT.match(requirement).group(1).lower().replace("_", "-")
        found.setdefault(name, requirement)
    return list(found.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--extra", action="append", default=[], help="an optional-dependency group")
    args = parser.parse_args(argv)
    pyproject = tomllib.loads(args.pyproject.read_text(encoding="utf-8"))
    unknown = set(args.extra) - set(pyproject["project"].get("optional-dependencies", {}))
    if unknown:
        parser.error(f"no such extra in {args.pyproject}: {sorted(unknown)}")
    for requirement in requirements(pyproject, args.extra):
        print(pin_lowest(requirement))
    return 0


if __name__ == "__main__":
    sys.exit(main())
