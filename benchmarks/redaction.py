"""What redaction costs per record, on realistic DevOps output.

    python benchmarks/redaction.py [--repeats 200] [--gitleaks PATH/gitleaks.toml]

Times :class:`toolwise.SecretRedactor` (CPU time of this process, median of ``--repeats``):
a 10 KB DevOps log (kubectl, docker, terraform, git, JSON logs) with 0 or 3 secrets, whole and
through ``to_safe_text`` at the default 2,000-character limit (what a record stores); a
100 KB log; a typical tool-argument dict; single words; and hostile inputs built to make a
backtracking regex blow up. With ``--gitleaks`` it also times gitleaks' published rules run
through Python's ``re`` (Go syntax translated, keyword pre-filter and entropy as gitleaks does)
on the same 10 KB log; with ``detect-secrets`` installed, its ``scan_line`` over the log's lines.
Prints a table and writes ``benchmarks/results/redaction.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import median, table, write_json

from toolwise.recording.redact import SecretRedactor, to_safe_text

SECRETS = (
    "export DATABASE_URL=postgresql://app:Xk9pLm2Qr7@db.internal:5432/app",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "using key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    '{"passphrase": "correct horse battery staple"}',
    "GITHUB_TOKEN=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",
)


def devops_log(seed: int = 0, size: int = 10_000, secrets: int = 3) -> str:
    """Lines as kubectl, docker, terraform, git and JSON loggers print them."""
    rnd = random.Random(seed)
    lines: list[str] = []
    while sum(len(line) + 1 for line in lines) < size:
        h = hashlib.sha1(str(rnd.random()).encode()).hexdigest()
        kind = rnd.randrange(8)
        ip = ".".join(str(rnd.randrange(256)) for _ in range(3))
        lines.append(
            [
                f"2026-07-22T09:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}.123456Z INFO "
                f"deployment.apps/web-{h[:10]}-{h[10:15]} configured",
                f"pod/api-{h[:9]}-{h[9:14]}   1/1   Running   0   {rnd.randrange(60)}m   10.{ip}",
                "Image: registry.example.com/team/api@sha256:"
                + hashlib.sha256(h.encode()).hexdigest(),
                f"commit {h} (HEAD -> main) request-id={uuid.UUID(int=rnd.getrandbits(128))}",
                f'{{"level":"info","msg":"reconciled","name":"web","namespace":"prod",'
                f'"uid":"{uuid.UUID(int=rnd.getrandbits(128))}"}}',
                f"Step {rnd.randrange(20)}/20 : RUN pip install -r requirements.txt ---> {h[:12]}",
                f"aws_instance.web[{rnd.randrange(5)}]: Still creating... id=i-{h[:17]} "
                f"arn:aws:ec2:eu-west-1:123456789012:instance/i-{h[:17]}",
                f"WARN retrying GET https://api.internal:8443/v1/namespaces/prod/pods?limit=500"
                f"&resourceVersion={rnd.randrange(10**6, 10**7)} after 503",
            ][kind]
        )
    for i in range(secrets):
        lines.insert(rnd.randrange(len(lines)), SECRETS[(seed + i) % len(SECRETS)])
    return "\n".join(lines)


def cpu_us(work: Callable[[], Any], repeats: int) -> float:
    """Median CPU microseconds of ``work`` (process time: waiting for a shared core is free)."""
    work()
    samples = []
    for _ in range(repeats):
        start = time.process_time_ns()
        work()
        samples.append((time.process_time_ns() - start) / 1_000)
    return median(samples)


# -- gitleaks' rules in Python's re, for comparison -----------------------------------------------


def _go_to_python(pattern: str) -> str:
    r"""Go's ``(?i)`` in mid-pattern scopes to the end of its group; Python wants ``(?i:…)``."""
    pattern = pattern.replace(r"\z", r"\Z")
    out: list[str] = []
    opened = [0]
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class or c == "[":
            in_class = c != "]" if in_class else True
            out.append(c)
            i += 1
            continue
        flags = re.match(r"\(\?([imsU-]+)\)", pattern[i:]) if c == "(" else None
        if flags and i:
            out.append(f"(?{flags.group(1)}:")
            opened[-1] += 1
            i += flags.end()
            continue
        if c == "(":
            opened.append(0)
        elif c == ")":
            out.append(")" * opened.pop())
        out.append(c)
        i += 1
    out.append(")" * opened.pop())
    return "".join(out)


def gitleaks_scanner(path: Path) -> tuple[int, Callable[[str], int]]:
    import tomllib
    import warnings

    rules = []
    with path.open("rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rule in tomllib.load(fh)["rules"]:
            if "regex" not in rule or "path" in rule:
                continue
            try:
                regex = re.compile(_go_to_python(rule["regex"]))
            except re.error:
                continue
            keywords = [k.lower() for k in rule.get("keywords", [])]
            rules.append((regex, keywords, rule.get("entropy"), rule.get("secretGroup")))

    def entropy(text: str) -> float:
        n = len(text)
        return -sum(c / n * math.log2(c / n) for c in Counter(text).values()) if n else 0.0

    def scan(text: str) -> int:
        lowered, found = text.lower(), 0
        for regex, keywords, threshold, group in rules:
            if keywords and not any(k in lowered for k in keywords):
                continue
            for match in regex.finditer(text):
                secret = match.group(group or (1 if regex.groups else 0)) or match.group(0)
                found += not threshold or entropy(secret) >= threshold
        return found

    return len(rules), scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--gitleaks", type=Path, help="a gitleaks.toml to compare against")
    args = parser.parse_args()

    redactor = SecretRedactor(max_leaf_chars=1_000_000)
    clean, dirty, big = devops_log(secrets=0), devops_log(secrets=3), devops_log(size=100_000)
    arguments = {
        "service": "web", "namespace": "prod", "replicas": 3,
        "image": "registry.example.com/team/web:v1.2.3", "wait": True,
        "values": {"ingress": {"host": "web.example.com"}, "resources": {"cpu": "500m"}},
    }  # fmt: skip
    hostile = {
        "hostile: 100 KB under a secret key": "password=" + "a" * 100_000,
        "hostile: 20k 'key: ' with no value": "key: " * 20_000,
        "hostile: 50k '-----BEGIN' with no key": "-----BEGIN " * 9_000,
    }
    default, fresh = SecretRedactor(), SecretRedactor()  # fresh: its clean-string cache emptied
    cases: dict[str, Callable[[], Any]] = {
        "10 KB log, no secret, whole": lambda: redactor(clean),
        "10 KB log, 3 secrets, whole": lambda: redactor(dirty),
        "10 KB log, 3 secrets, stored (to_safe_text, 2,000 chars)": lambda: to_safe_text(
            dirty, default, 2_000
        ),
        "100 KB log, stored (to_safe_text, 2,000 chars)": lambda: to_safe_text(big, default, 2_000),
        "tool arguments (dict of 6, nested), first seen": lambda: (
            fresh._clean.clear(),
            to_safe_text(arguments, fresh, 2_000),
        ),
        "tool arguments (dict of 6, nested), values seen before": lambda: to_safe_text(
            arguments, default, 2_000
        ),
        "one word (scanned)": lambda: default._scanner.spans("replicas"),
        "one word (seen before: cached as clean)": lambda: default("replicas"),
        "one 100-char sentence, first seen": lambda: (
            fresh._clean.clear(),
            fresh(
                "deploy web to production cluster eu-west-1 with 3 replicas and image "
                "registry.example.com/web:v1.2.3"
            ),
        ),
        **{
            name: (lambda text=text: to_safe_text(text, default, 2_000))
            for name, text in hostile.items()
        },
    }
    rows = []
    for name, work in cases.items():
        repeats = args.repeats if "hostile" not in name else max(args.repeats // 20, 3)
        rows.append((name, cpu_us(work, repeats)))
    comparison = []
    if args.gitleaks is not None:
        count, scan = gitleaks_scanner(args.gitleaks)
        comparison.append(
            (f"gitleaks rules in Python re ({count} rules), 10 KB", cpu_us(lambda: scan(dirty), 5))
        )
    try:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import default_settings
    except ImportError:
        pass
    else:

        def detect(text: str = dirty) -> int:
            with default_settings():
                return sum(1 for line in text.splitlines() for _ in scan_line(line))

        comparison.append(("detect-secrets scan_line, 10 KB", cpu_us(detect, 3)))

    print(table(["input", "CPU µs per call (median)"], rows + comparison))
    path = write_json(
        "redaction",
        {
            "repeats": args.repeats,
            "log_chars": {"10 KB": len(dirty), "100 KB": len(big)},
            "cpu_us": dict(rows),
            "comparison_cpu_us": dict(comparison),
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
