"""Checks that a venv holds the whole closure of an environment's roots, extras included.

    python check_env.py requirements.in

`pip check` verifies the plain requirements of each installed distribution, but it does not know
which extras were asked for: a lock that misses an extra's package (litellm[proxy] needs
httpx[http2], which needs h2) passes it. This walks from the roots in the .in file through every
requirement whose marker holds for the extras asked for, and fails naming each package that is
not installed or is at a version its dependent does not accept. Run by scripts/lib/python-env.mjs
after each install; uses the packaging library that pip carries.
"""

import sys
from importlib import metadata

from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name


def roots(path):
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith(("#", "-")):
                yield Requirement(line)


def applies(requirement, extras):
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras)


def main(path):
    problems = []
    seen = set()
    queue = [(requirement, {""}, path) for requirement in roots(path)]
    while queue:
        requirement, parent_extras, parent = queue.pop()
        if not applies(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{parent} requires {requirement}, which is not installed")
            continue
        if not requirement.specifier.contains(dist.version, prereleases=True):
            problems.append(f"{parent} requires {requirement}, but {dist.metadata['Name']} {dist.version} is installed")
        wanted = {""} | {canonicalize_name(extra) for extra in requirement.extras}
        todo = {extra for extra in wanted if (name, extra) not in seen}
        if not todo:
            continue
        seen.update((name, extra) for extra in todo)
        label = f"{dist.metadata['Name']} {dist.version}" + (f" [{','.join(sorted(requirement.extras))}]" if requirement.extras else "")
        for line in dist.requires or []:
            queue.append((Requirement(line), todo, label))
    for problem in sorted(set(problems)):
        print(problem)
    if problems:
        print(f"check_env: {len(set(problems))} requirement(s) of {path} not met", file=sys.stderr)
        return 1
    print(f"check_env: the closure of {path} is installed ({len(seen)} distribution/extra pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
