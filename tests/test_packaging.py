"""The image builds: the Dockerfile copies what pyproject packages, installs the dependencies
in a layer of their own, pins its base image, runs as a numeric non-root user and checks
its health. Docker cannot run here, so the wheel is built from exactly the files the
Dockerfile copies, offline, with the venv's own build tools."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined), as (keyword, rest)."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def copied() -> list[str]:
    """The paths of the build context that COPY brings into the image."""
    paths = []
    for keyword, rest in instructions():
        if keyword == "COPY":
            *sources, _destination = rest.split()
            paths += [s for s in sources if not s.startswith("--")]
    return paths


def shipped_packages() -> set[str]:
    """The packages pyproject ships: every folder with an __init__.py under its roots."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    roots = {p for p in config["tool"]["setuptools"]["packages"]["find"]["include"] if "*" not in p}
    packages = set()
    for root in roots:
        for init in (ROOT / root).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                packages.add(".".join(init.parent.relative_to(ROOT).parts))
    return packages


def test_the_dockerfile_copies_every_shipped_package() -> None:
    tops = {p.split(".")[0] for p in shipped_packages()}
    assert tops <= set(copied()), f"not copied: {tops - set(copied())}"


def test_the_wheel_builds_from_what_the_dockerfile_copies(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    for path in copied():
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, context / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, context / path)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"), str(context)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("wuye-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in shipped_packages():
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    # the data files the running bot reads
    for pattern in ("storage/migrations/0001_identity.sql", "templates/locales/zh-Hans.common.toml",
                    "sandbox/web/index.html", "sandbox/web/app.js"):  # fmt: skip
        assert pattern in names, pattern


def test_dependencies_install_in_a_layer_before_the_code() -> None:
    """A change to the code must not reinstall the dependencies: the pip install of the
    pinned requirements comes before the first COPY of a package."""
    steps = instructions()
    first_code = next(
        i for i, (k, rest) in enumerate(steps) if k == "COPY" and rest.split()[0] == "bot"
    )
    deps = next(
        i for i, (k, rest) in enumerate(steps) if k == "RUN" and "-c constraints.txt" in rest
    )
    assert deps < first_code
    assert "constraints.txt" in next(r for k, r in steps[:deps] if k == "COPY")


def test_a_pinned_base_a_numeric_user_and_a_health_check() -> None:
    steps = dict(reversed(instructions()))  # the first of each keyword
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", steps["FROM"]), steps["FROM"]
    users = [rest for k, rest in instructions() if k == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), users
    health = [rest for k, rest in instructions() if k == "HEALTHCHECK"]
    assert health and '"python", "-m", "bot", "health"' in health[0]
