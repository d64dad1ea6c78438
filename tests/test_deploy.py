"""docker-compose.yml against the Dockerfile and the README (Docker cannot run here): the
volumes are the image's, the data folders belong to its user, the health check is the
image's, logs rotate, it restarts, its env file is documented, and every setting the files
name is in the README's table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICE: dict[str, Any] = COMPOSE["services"]["wuye"]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined), as (keyword, rest)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    steps = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            steps.append((keyword.upper(), rest.strip()))
    return steps


def image_env() -> dict[str, str]:
    """The image's ENV settings."""
    found: dict[str, str] = {}
    for keyword, rest in dockerfile():
        if keyword == "ENV":
            found.update(re.findall(r"(\w+)=(\S+)", rest))
    return found


def image_user() -> str:
    (user,) = [rest for keyword, rest in dockerfile() if keyword == "USER"]
    return user.split(":")[0]


def section(title: str) -> str:
    """A README section (a ## heading to the next)."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else len(README)]


def test_the_volumes_are_the_images_and_hold_its_database_files_and_backups() -> None:
    (volumes,) = [json.loads(rest) for keyword, rest in dockerfile() if keyword == "VOLUME"]
    targets = {v.split(":")[1]: v.split(":")[0] for v in SERVICE["volumes"]}
    assert set(targets) == set(volumes)
    env = image_env()
    assert any(Path(env["WUYE_DB"]).is_relative_to(t) for t in targets)
    assert any(Path(env["WUYE_DATA_DIR"]).is_relative_to(t) for t in targets)
    assert env["WUYE_BACKUP_DIR"] in targets
    sources = list(targets.values())
    assert all(source.startswith("./") for source in sources)  # bind mounts…
    chown = f"chown {image_user()}:{image_user()} {' '.join(s[2:] for s in sources)}"
    assert chown in COMPOSE_TEXT and chown in section("Docker")  # …owned by the image's user


def test_the_health_check_is_the_images() -> None:
    (health,) = [rest for keyword, rest in dockerfile() if keyword == "HEALTHCHECK"]
    command = json.loads(health.split(" CMD ", 1)[1])
    assert SERVICE["healthcheck"]["test"] == ["CMD", *command]
    assert command == ["python", "-m", "bot", "health"]
    for option in ("interval", "timeout", "start_period", "retries"):
        flag = f"--{option.replace('_', '-')}={SERVICE['healthcheck'][option]}"
        assert flag in health, flag
    assert "python -m bot health" in section("Docker")


def test_it_restarts_and_its_logs_rotate() -> None:
    assert SERVICE["restart"] in ("always", "unless-stopped")
    logging = SERVICE["logging"]
    assert logging["driver"] in ("json-file", "local")
    assert re.fullmatch(r"\d+[km]", logging["options"]["max-size"])
    assert int(logging["options"]["max-file"]) >= 2


def test_the_env_file_has_an_example_and_every_setting_is_documented() -> None:
    (env_file,) = SERVICE["env_file"]
    example = ROOT / f"{env_file}.example"
    assert example.is_file()
    assert env_file in section("Docker") and f"{env_file}.example" in section("Docker")
    assert (
        env_file in (ROOT / ".gitignore").read_text()
        and env_file in (ROOT / ".dockerignore").read_text()
    )  # a file with the token goes neither into git nor into the image
    named = set(re.findall(r"^#?(WUYE_\w+)=", example.read_text(), re.M))
    named |= {name for name in image_env() if name.startswith("WUYE_")}
    documented = set(re.findall(r"^\| `(WUYE_\w+)` \|", section("Configuration"), re.M))
    assert named - documented == set()


def test_the_published_ports_are_the_images_and_local() -> None:
    exposed = {int(p) for k, rest in dockerfile() if k == "EXPOSE" for p in rest.split()}
    published = {int(p.rsplit(":", 1)[1]) for p in SERVICE["ports"]}
    assert published <= exposed
    assert int(image_env()["WUYE_METRICS_PORT"]) in published
    assert all(p.startswith("127.0.0.1:") for p in SERVICE["ports"])  # the proxy is in front
