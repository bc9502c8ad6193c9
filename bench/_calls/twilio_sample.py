"""Twilio's speech-assistant-openai-realtime-api-python sample, prepared for ``bench/calls.py``.

Its code is never part of this repository: at benchmark time ``main.py`` is copied from a local
git mirror (or from ``--sample-dir``) into a temporary directory and patched there, only so that
it talks to the fake model instead of ``wss://api.openai.com``. Its dependencies (FastAPI,
uvicorn, websockets, python-dotenv; pinned as in its requirements.txt) are installed into this
interpreter's environment on first use.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_NAME = "twilio-samples/speech-assistant-openai-realtime-api-python"
MIRROR = Path("/work/.mirror/twilio-samples+speech-assistant-openai-realtime-api-python/repo")
OPENAI_URL = "wss://api.openai.com/v1/realtime"
# (what, replaced, by): the whole runtime patch.
PATCHES = (
    (
        "Realtime endpoint",
        OPENAI_URL,
        "{os.environ['OPENAI_REALTIME_URL']}",  # inside the sample's f-string
    ),
)
# module to import -> distribution to install
NEEDS = {"fastapi": "fastapi", "uvicorn": "uvicorn", "websockets": "websockets"}
NEEDS_UNPINNED = {"dotenv": "python-dotenv", "twilio": "twilio"}  # already ours: keep our version
HOW_TO_GET = (
    "Twilio's sample was not found. Either clone it and pass its directory:\n"
    f"    git clone https://github.com/{REPO_NAME} /tmp/sample\n"
    "    .venv/bin/python bench/calls.py --compare-sample --sample-dir /tmp/sample\n"
    f"or provide a bare git mirror at {MIRROR} (or pass it as --sample-dir)."
)


class SampleError(Exception):
    pass


@dataclass
class Sample:
    directory: Path  # holds the patched main.py
    source: str
    patched: list[str] = field(default_factory=list)

    def command(self, python: str, host: str, port: int, *, workers: int = 1) -> list[str]:
        """uvicorn serving ``main:app``, as the sample's ``__main__`` does (uvicorn defaults:
        INFO logs, access log; one worker unless ``workers`` says more: uvicorn's own process
        workers, which suit the sample since a call needs no state shared between processes),
        but on ``host`` only; asyncio loop, h11 and the websockets library spelled out, which is
        what uvicorn picks with its requirements.txt."""
        return [
            python,
            "-m",
            "uvicorn",
            "main:app",
            "--app-dir",
            str(self.directory),
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "asyncio",
            "--http",
            "h11",
            "--ws",
            "websockets",
        ]


def _read_source(sample_dir: Path | None) -> tuple[str, str, str]:
    """(main.py, requirements.txt or "", where from)."""
    candidates = [sample_dir] if sample_dir is not None else [MIRROR]
    for place in candidates:
        if (place / "main.py").is_file():
            requirements = place / "requirements.txt"
            return (
                (place / "main.py").read_text(),
                requirements.read_text() if requirements.is_file() else "",
                str(place / "main.py"),
            )
        if (place / "HEAD").is_file() and (place / "objects").is_dir() and shutil.which("git"):

            def show(path: str, place: Path = place) -> str:
                return subprocess.run(
                    ["git", f"--git-dir={place}", "show", f"HEAD:{path}"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout

            try:
                main = show("main.py")
                commit = subprocess.run(
                    ["git", f"--git-dir={place}", "rev-parse", "--short", "HEAD"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
            except subprocess.CalledProcessError as exc:
                raise SampleError(
                    f"git show HEAD:main.py in {place} failed: {exc.stderr}"
                ) from None
            try:
                req = show("requirements.txt")
            except subprocess.CalledProcessError:
                req = ""
            return main, req, f"{REPO_NAME}@{commit} (mirror {place})"
    raise SampleError(HOW_TO_GET)


def ensure_dependencies(requirements: str) -> list[str]:
    """Install what the sample needs into this interpreter's environment; says what it did."""
    pins = dict(re.findall(r"(?im)^([a-z0-9_.-]+)==([^\s;#]+)", requirements))
    pins = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    missing = [
        f"{dist}=={pins[dist]}" if dist in pins else dist
        for module, dist in NEEDS.items()
        if importlib.util.find_spec(module) is None
    ]
    missing += [d for m, d in NEEDS_UNPINNED.items() if importlib.util.find_spec(m) is None]
    if not missing:
        return []
    print(f"  installing the sample's dependencies into {sys.prefix}: {' '.join(missing)}")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *missing],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SampleError(
            "pip install failed:\n"
            + done.stderr[-2000:]
            + f"\ninstall them by hand: {sys.executable} -m pip install {' '.join(missing)}"
        )
    return missing


def prepare(sample_dir: Path | None, into: Path) -> Sample:
    """Copy the sample's main.py into ``into`` and patch it; raises SampleError."""
    main, requirements, source = _read_source(sample_dir)
    ensure_dependencies(requirements)
    sample = Sample(into, source)
    for what, old, new in PATCHES:
        count = main.count(old)
        if count != 1:
            raise SampleError(
                f"cannot patch the sample: {old!r} occurs {count} times in main.py (expected 1)"
            )
        main = main.replace(old, new)
        sample.patched.append(f"{what}: {old!r} -> {new!r}")
    if "os.getenv('OPENAI_API_KEY')" not in main and 'os.getenv("OPENAI_API_KEY")' not in main:
        raise SampleError("the sample no longer reads OPENAI_API_KEY with os.getenv")
    sample.patched.append("OPENAI_API_KEY: unchanged (the sample reads it from the environment)")
    into.mkdir(parents=True, exist_ok=True)
    (into / "main.py").write_text(main)
    return sample
