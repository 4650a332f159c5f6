#!/usr/bin/env python3
"""Regenerates the provider table in docs/verification.md from patterns/*.toml.

    scripts/verification_table.py      # rewrites the table in place

`cargo test` (tests/verify.rs) fails when a rule with a verify table is
missing from the docs, so run this after adding one.
"""
import glob, os, re, tomllib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
HEADER = "| rule | endpoint name: default base URL | request; live when |"
BUILTIN = {
    "aws-sts": ("`POST /` `Action=GetCallerIdentity` (SigV4, service `sts`, `us-east-1`)", "200 + `<Arn>`"),
    "gcp-service-account": ("`POST /token` JWT-bearer grant signed RS256 with the key", "200 + `access_token`"),
}


def describe_live(rule):
    out = f"{rule['status']} + `{rule.get('json') or rule.get('header')}`"
    if "equals" in rule:
        value = rule["equals"]
        out += f" = `{str(value).lower() if isinstance(value, bool) else value}`"
    if "contains" in rule:
        out += f" containing “{rule['contains']}”"
    return out


def row(provider_file, rule):
    verify = rule["verify"]
    rid = rule["id"]
    if "not_supported" in verify:
        return f"| `{rid}` | — | not_supported: {verify['not_supported']} |"
    endpoint = verify.get("endpoint", provider_file["provider"])
    base = verify.get("base_url", provider_file.get("verify", {}).get("base_url")) or "(none: must be configured)"
    if "kind" in verify:
        what, live = BUILTIN[verify["kind"]]
    else:
        request = verify["request"]
        auth = [f"`{k}: {v}`" for k, v in request.get("headers", {}).items() if re.search(r"\{[a-z_]+\}", v)]
        if "basic_auth" in request:
            auth.append(f"Basic `{request['basic_auth'][0]}:{request['basic_auth'][1]}`")
        if "json_body" in request:
            auth.append("JSON body " + ", ".join(f"`{k}`" for k in request["json_body"]))
        if "{secret}" in request["path"] and not auth:
            auth.append("secret in the URL")
        what = f"`{request.get('method', 'GET')} {request['path']}`" + (" — " + ", ".join(auth) if auth else "")
        live = "; ".join(describe_live(r) for r in verify.get("responses", []) if r["result"] == "live")
    needs = [c["name"] for c in verify.get("companions", []) if not c.get("optional")]
    extra = f"; needs {', '.join(needs)}" if needs else ""
    return f"| `{rid}` | `{endpoint}`: {base} | {what}{extra}; live on {live} |"


def main():
    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "patterns", "*.toml"))):
        with open(path, "rb") as f:
            provider_file = tomllib.load(f)
        rows += [row(provider_file, r) for r in provider_file["rule"] if "verify" in r]
    table = HEADER + "\n|---|---|---|\n" + "\n".join(rows) + "\n"
    docs = os.path.join(ROOT, "docs", "verification.md")
    text = open(docs).read()
    start = text.index(HEADER)
    end = text.index("\n\n", start) + 1
    open(docs, "w").write(text[:start] + table + text[end:])


main()
