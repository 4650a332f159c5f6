#!/usr/bin/env python3
"""Generates a deterministic git repository with a long history, for history-scan benchmarks.

    scripts/gen_history.py OUT_DIR COMMITS [FILES]

Each commit rewrites a few of FILES (default 2000) source-like files; about one
commit in 50 plants a fake secret that a later commit removes again (found only
by a history scan). Built with `git fast-import`, so thousands of commits take
seconds. Same arguments, same repository (commit dates are fixed).
"""
import os, random, string, subprocess, sys, zlib

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits

def ghp(rng):
    body = "".join(rng.choice(ALNUM) for _ in range(30))
    n, check = zlib.crc32(body.encode()), ""
    for _ in range(6):
        check = B62[n % 62] + check
        n //= 62
    return "ghp_" + body + check

def content(rng, i, version):
    lines = [f"# module {i} version {version}"]
    for j in range(rng.randint(20, 120)):
        lines.append(f"def handler_{i}_{j}(request, token_type='bearer'):\n    return request.get('value_{j}', {rng.randint(0, 99999)})")
    return "\n".join(lines) + "\n"

def main():
    out, commits = sys.argv[1], int(sys.argv[2])
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    rng = random.Random("leakstop-history")
    os.makedirs(out, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", out], check=True)
    importer = subprocess.Popen(["git", "-C", out, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    planted, pending = 0, {}
    def emit(text):
        importer.stdin.write(text if isinstance(text, bytes) else text.encode())
    for c in range(commits):
        changes = {}
        if c == 0:
            for i in range(files):
                changes[f"src/pkg{i // 100:03d}/mod{i:05d}.py"] = content(rng, i, 0)
        else:
            for _ in range(rng.randint(1, 5)):
                i = rng.randrange(files)
                changes[f"src/pkg{i // 100:03d}/mod{i:05d}.py"] = content(rng, i, c)
            if rng.randrange(50) == 0:
                path = f"config/secrets{c}.env"
                changes[path] = f"GITHUB_TOKEN={ghp(rng)}\n"
                pending[path] = c + rng.randint(1, 30)
                planted += 1
        for path, until in list(pending.items()):
            if until == c:
                changes[path] = None
                del pending[path]
        emit(f"commit refs/heads/main\ncommitter Bench <bench@example.com> {1700000000 + c * 60} +0000\n")
        message = f"commit {c}\n".encode()
        emit(f"data {len(message)}\n")
        emit(message)
        for path, text in changes.items():
            if text is None:
                emit(f"D {path}\n")
            else:
                data = text.encode()
                emit(f"M 100644 inline {path}\ndata {len(data)}\n")
                emit(data)
                emit("\n")
        emit("\n")
    importer.stdin.close()
    if importer.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", out, "checkout", "-q", "main"], check=True)
    print(f"{commits} commits, {files} files, {planted} planted secrets")

main()
