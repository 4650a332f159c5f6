#!/usr/bin/env python3
"""Generates a deterministic corpus of realistic source files with planted secrets.

    scripts/gen_corpus.py OUT_DIR SIZE_MB [SEED]

Files look like Python, JavaScript, Go, YAML, JSON, .env and Markdown: code,
comments, config keys (including many `password`/`token`/`key` words that a
scanner's prefilter will hit), UUIDs, hashes and URLs. About one file in 20
gets a planted fake secret; their count is printed so benchmark runs can
check recall. Same arguments, same bytes.
"""
import os, random, string, sys, zlib

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits

def crc_token(rng, prefix):
    body = "".join(rng.choice(ALNUM) for _ in range(30))
    n, check = zlib.crc32(body.encode()), ""
    for _ in range(6):
        check = B62[n % 62] + check
        n //= 62
    return prefix + body + check

def rand(rng, n, chars=ALNUM):
    return "".join(rng.choice(chars) for _ in range(n))

WORDS = ("user account request response token_type handler config value index result buffer "
         "session cache client server password_field secret_name keyboard monkey public_key "
         "api_version timeout retries payload header status message error logger metrics").split()

def ident(rng):
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))

def planted(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return f'GITHUB_TOKEN = "{crc_token(rng, "ghp_")}"'
    if kind == 1:
        return f'aws_access_key_id = "AKIA{rand(rng, 16, string.ascii_uppercase + string.digits)}"'
    if kind == 2:
        return f'stripe_key: "sk_live_{rand(rng, 32)}"'
    return f'SLACK_BOT_TOKEN={"xoxb-"}{rand(rng, 12, string.digits)}-{rand(rng, 13, string.digits)}-{rand(rng, 24)}'

def python_line(rng):
    choice = rng.randrange(8)
    if choice == 0:
        return f"def {ident(rng)}(self, {ident(rng)}, {ident(rng)}=None):"
    if choice == 1:
        return f"    # TODO: handle the {ident(rng)} case when the token is expired"
    if choice == 2:
        return f"    {ident(rng)} = self.{ident(rng)}.get('{ident(rng)}', {rng.randint(0, 9999)})"
    if choice == 3:
        return f"    password = get_password({ident(rng)})"
    if choice == 4:
        return f"    logger.info('processing %s for %s', {ident(rng)}, {ident(rng)})"
    if choice == 5:
        return f"    return {{'id': '{rand(rng, 8, '0123456789abcdef')}-{rand(rng, 4, '0123456789abcdef')}-4{rand(rng, 3, '0123456789abcdef')}-a{rand(rng, 3, '0123456789abcdef')}-{rand(rng, 12, '0123456789abcdef')}'}}"
    if choice == 6:
        return f"    if {ident(rng)} is None or len({ident(rng)}) > {rng.randint(1, 512)}:"
    return f"        raise ValueError('invalid {ident(rng)}: commit {rand(rng, 40, '0123456789abcdef')}')"

def js_line(rng):
    choice = rng.randrange(7)
    if choice == 0:
        return f"export function {ident(rng).replace('_', '')}({ident(rng)}, {ident(rng)}) {{"
    if choice == 1:
        return f"  const {ident(rng)} = await fetch(`/api/v1/{ident(rng)}?token=${{{ident(rng)}}}`);"
    if choice == 2:
        return f"  // keyboard shortcut for {ident(rng)}; public_key is safe to log"
    if choice == 3:
        return f"  headers['Authorization'] = `Bearer ${{process.env.API_TOKEN}}`;"
    if choice == 4:
        return f"  this.{ident(rng)} = {{ maxTokens: {rng.randint(1, 4096)}, tokenizer: '{ident(rng)}' }};"
    if choice == 5:
        return "}"
    return f"  return {ident(rng)}.map((x) => x.{ident(rng)}).filter(Boolean);"

def yaml_line(rng):
    choice = rng.randrange(5)
    if choice == 0:
        return f"{ident(rng)}:"
    if choice == 1:
        return f"  password: ${{{ident(rng).upper()}}}"
    if choice == 2:
        return f"  image: registry.example.com/{ident(rng)}:{rng.randint(1, 40)}.{rng.randint(0, 9)}"
    if choice == 3:
        return f"  integrity: sha512-{rand(rng, 86, ALNUM + '+/')}=="
    return f"  {ident(rng)}: {rng.randint(0, 100000)}"

KINDS = [("py", python_line), ("js", js_line), ("yaml", yaml_line), ("go", js_line), ("md", python_line)]

def main():
    out, size_mb = sys.argv[1], float(sys.argv[2])
    rng = random.Random(sys.argv[3] if len(sys.argv) > 3 else "leakstop-corpus")
    target = int(size_mb * 1024 * 1024)
    written = files = secrets = 0
    while written < target:
        ext, line = rng.choice(KINDS)
        lines = [line(rng) for _ in range(rng.randint(40, 600))]
        if rng.randrange(20) == 0:
            lines.insert(rng.randrange(len(lines)), planted(rng))
            secrets += 1
        text = "\n".join(lines) + "\n"
        path = os.path.join(out, f"pkg{files // 500:04d}", f"mod{files % 500:03d}.{ext}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        written += len(text)
        files += 1
    print(f"{files} files, {written} bytes, {secrets} planted secrets")

main()
