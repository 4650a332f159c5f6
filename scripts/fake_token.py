#!/usr/bin/env python3
"""Makes fake but well-formed tokens for rule examples and test corpora.

    scripts/fake_token.py crc PREFIX [SEED]   # GitHub/npm style: PREFIX + 30 random + base62 CRC32
    scripts/fake_token.py rand LEN CHARSET [SEED]  # CHARSET: alnum, hex, HEX, upper, b64, b64url, digits, lower,
                                                   # alpha, b32 (RFC 4648 upper), b32lower, b58
    scripts/fake_token.py fmt TEMPLATE [SEED]      # each {CHARSET:LEN} and {uuid} in TEMPLATE filled in:
                                                   # fmt 'dt0c01.{upper:24}.{upper:64}'

Seeded, so examples are reproducible. The values are random: they are no one's credential.
"""
import random, re, string, sys, zlib

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
    "alpha": string.ascii_letters,
    "b32": string.ascii_uppercase + "234567",
    "b32lower": string.ascii_lowercase + "234567",
    "b58": "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
}

def b62(n):
    out = ""
    for _ in range(6):
        out = B62[n % 62] + out
        n //= 62
    return out

def fill(template, seed):
    """The template with every {CHARSET:LEN} and {uuid} replaced by random text."""
    rng = random.Random(seed)

    def one(m):
        if m.group(0) == "{uuid}":
            h = "".join(rng.choice(SETS["hex"]) for _ in range(32))
            return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"
        return "".join(rng.choice(SETS[m.group(1)]) for _ in range(int(m.group(2))))

    return re.sub(r"\{uuid\}|\{([A-Za-z0-9]+):([0-9]+)\}", one, template)

def main():
    kind = sys.argv[1]
    if kind == "crc":
        prefix = sys.argv[2]
        rng = random.Random(sys.argv[3] if len(sys.argv) > 3 else prefix)
        body = "".join(rng.choice(SETS["alnum"]) for _ in range(30))
        print(prefix + body + b62(zlib.crc32(body.encode())))
    elif kind == "fmt":
        print(fill(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else sys.argv[2]))
    else:
        length, charset = int(sys.argv[2]), sys.argv[3]
        rng = random.Random(sys.argv[4] if len(sys.argv) > 4 else f"{length}{charset}")
        print("".join(rng.choice(SETS[charset]) for _ in range(length)))

if __name__ == "__main__":
    main()
