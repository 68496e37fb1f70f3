"""Every shared library the server binary loads comes from a package the Dockerfile's runtime stage has:
one it installs, one those depend on, or one of Debian's required packages (what a slim image holds).
The Swift runtime is the exception only because the Dockerfile links it statically."""

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("MODEL_SERVER_BINARY", str(REPO / ".build/debug/model-server"))
DOCKERFILE = (REPO / "docker" / "Dockerfile").read_text()


def runtime_stage_packages():
    stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    install = re.search(r"apt-get install ([^&]+)", stage.replace("\\\n", " "))
    assert install, "the runtime stage installs no packages"
    return {word for word in install.group(1).split() if not word.startswith("-")}


def depends(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", package],
                            capture_output=True, text=True, timeout=30)
    names = set()
    for alternative in result.stdout.split(","):
        first = alternative.split("|")[0].strip().split(" ")[0].split(":")[0]
        if first:
            names.add(first)
    return names


def closure(packages):
    seen, pending = set(), list(packages)
    while pending and len(seen) < 2000:
        package = pending.pop()
        if package in seen:
            continue
        seen.add(package)
        pending.extend(depends(package) - seen)
    return seen


def required_packages():
    result = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Priority} ${Essential}\n"],
                            capture_output=True, text=True, timeout=30)
    return {line.split()[0] for line in result.stdout.splitlines()
            if len(line.split()) >= 2 and (line.split()[1] == "required" or line.endswith(" yes"))}


def owning_package(library):
    real = os.path.realpath(library)
    for candidate in (library, real, real.replace("/usr/lib/", "/lib/", 1), library.replace("/usr/lib/", "/lib/", 1)):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return result.stdout.split(":")[0].strip()
    return None


def test_every_linked_library_comes_from_the_runtime_stage():
    assert "--static-swift-stdlib" in DOCKERFILE
    swift_lib = Path(subprocess.run(["which", "swift"], capture_output=True, text=True).stdout.strip()).resolve().parents[1]
    output = subprocess.run(["ldd", BINARY], capture_output=True, text=True, timeout=30, check=True).stdout
    available = closure(runtime_stage_packages() | required_packages())
    missing = []
    for line in output.splitlines():
        match = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if not match:
            continue
        library = match.group(1)
        if os.path.realpath(library).startswith(str(swift_lib)):
            continue
        package = owning_package(library)
        if package not in available:
            missing.append(f"{library} ({package or 'no package'})")
    assert not missing, "not installed by the runtime stage: " + ", ".join(missing)
