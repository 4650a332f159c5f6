#!/usr/bin/env python3
"""Makes fake but well-formed tokens for rule examples and test corpora.

    scripts/fake_token.py crc PREFIX [SEED]   # GitHub/npm style: PREFIX + 30 random + base62 CRC32
    scripts/fake_token.py rand LEN CHARSET [SEED]  # CHARSET: alnum, hex, HEX, upper, b64, b64url, digits, lower

Seeded, so examples are reproducible. The values are random: they are no one's credential.
"""
import random, string, sys, zlib

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
SETS = {
    "alnum": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "upper": string.ascii_uppercase + string.digits,
    "lower": string.ascii_lowercase + string.digits,
    "b64": string.ascii_letters + string.digits + "+/",
    "b64url": string.ascii_letters + string.digits + "-_",
    "digits": string.digits,
}

def b62(n):
    out = ""
    for _ in range(6):
        out = B62[n % 62] + out
        n //= 62
    return out

def main():
    kind = sys.argv[1]
    if kind == "crc":
        prefix = sys.argv[2]
        rng = random.Random(sys.argv[3] if len(sys.argv) > 3 else prefix)
        body = "".join(rng.choice(SETS["alnum"]) for _ in range(30))
        print(prefix + body + b62(zlib.crc32(body.encode())))
    else:
        length, charset = int(sys.argv[2]), sys.argv[3]
        rng = random.Random(sys.argv[4] if len(sys.argv) > 4 else f"{length}{charset}")
        print("".join(rng.choice(SETS[charset]) for _ in range(length)))

main()
