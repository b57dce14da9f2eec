"""A small replay engine for SCIM 2.0 request sequences (tests/e2e/scim/*.json).

A sequence file is JSON:

    {
      "client": "okta",
      "sources": ["https://…", …],          # where every request shape comes from
      "headers": {"Accept": "application/scim+json", …},   # sent with every request
      "query_encoding": "percent" | "plus",   # how spaces in query values are written
      "inputs": ["ws", "u1_email", …],        # variables the test must provide
      "steps": [ step, … ]
    }

A request step:

    {"name": "create user 1", "method": "POST", "path": "/Users",
     "query": {"filter": "userName eq \\"{u1_email}\\""},   # or [[k, v], …]; order is kept
     "body": {…},                                          # sent as JSON, Content-Type from headers
     "expect_status": 201 | [200, 204],
     "capture": {"u1_id": "/id"},                          # JSON pointers into the answer
     "expect": {"/userName": "{u1_email}", "/Resources": {"$len": 1}}}

`path` is relative to the SCIM base URL (`{server}/scim/v2/{ws}`). Strings anywhere in path,
query, body and expect may hold `{var}`; a string that is exactly `{var}` takes the variable's
value with its JSON type. Variables are the test's inputs plus what earlier steps captured.

A check step calls a Python hook to look at the team through the normal API:

    {"name": "u1 is a developer", "check": "member", "args": {"email": "{u1_email}", "role": "developer"}}

`hooks` maps the name to `fn(replay, **args)`; `replay.vars` holds the variables and
`replay.context` whatever the test put there (server, clients, …).

Expected values may be literals or matchers (a one-key object whose key starts with `$`):
`$len`, `$absent`, `$present`, `$type` (int|str|bool|list|dict|null), `$ieq` (case-insensitive
string), `$in` (one of a list), `$le`/`$ge` (numbers), `$contains` / `$not_contains` (a list
holds / holds no item whose fields include the given ones).

Every answer with a body must be `application/scim+json`; every error answer must be in SCIM's
own shape (`schemas: [Error]`, `status` as a string equal to the HTTP status). On any failure
the step's name, the request and the answer are printed.
"""
import json
import os
import re
from urllib.parse import quote, quote_plus

import requests

SCIM_JSON = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scim")
VAR_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MISSING = object()
REQUEST_KEYS = {"name", "method", "path", "query", "body", "expect_status", "capture", "expect",
                "headers", "raw_body", "note"}
CHECK_KEYS = {"name", "check", "args", "note"}
MATCHERS = {"$len", "$absent", "$present", "$type", "$ieq", "$in", "$le", "$ge", "$contains",
            "$not_contains"}


class ReplayError(AssertionError):
    pass


def load(client):
    """The sequence `tests/e2e/scim/{client}.json`."""
    with open(os.path.join(DATA_DIR, client + ".json"), encoding="utf-8") as f:
        return json.load(f)


# --- variables and JSON pointers ---------------------------------------------------------------

def substitute(value, variables):
    """`value` with every `{var}` replaced; raises KeyError for an unknown variable."""
    if isinstance(value, str):
        whole = VAR_RE.fullmatch(value)
        if whole:
            return variables[whole.group(1)]
        return VAR_RE.sub(lambda m: str(variables[m.group(1)]), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


def variables_in(value):
    """Every variable name that `value` refers to."""
    if isinstance(value, str):
        return set(VAR_RE.findall(value))
    if isinstance(value, list):
        return set().union(*(variables_in(v) for v in value)) if value else set()
    if isinstance(value, dict):
        out = set()
        for k, v in value.items():
            out |= variables_in(k) | variables_in(v)
        return out
    return set()


def pointer(doc, ptr):
    """RFC 6901: the value at `ptr` in `doc`, or _MISSING."""
    if ptr == "":
        return doc
    if not ptr.startswith("/"):
        raise ValueError(f"not a JSON pointer: {ptr!r}")
    cur = doc
    for raw in ptr[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict):
            if token not in cur:
                return _MISSING
            cur = cur[token]
        elif isinstance(cur, list):
            if not token.isdigit() or int(token) >= len(cur):
                return _MISSING
            cur = cur[int(token)]
        else:
            return _MISSING
    return cur


_TYPES = {"int": int, "str": str, "bool": bool, "list": list, "dict": dict, "null": type(None)}


def _subset(item, want):
    if isinstance(want, dict) and isinstance(item, dict):
        return all(k in item and _subset(item[k], v) for k, v in want.items())
    return item == want


def matches(actual, expected):
    """(ok, why) for one expectation."""
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        op, arg = next(iter(expected.items()))
        if op == "$absent":
            return (actual is _MISSING) == bool(arg), "expected absent" if arg else "expected present"
        if op == "$present":
            return (actual is not _MISSING) == bool(arg), "expected present" if arg else "expected absent"
        if actual is _MISSING:
            return False, "missing"
        if op == "$len":
            return isinstance(actual, (list, str, dict)) and len(actual) == arg, f"expected length {arg}"
        if op == "$type":
            t = _TYPES[arg]
            ok = isinstance(actual, t) and not (t is int and isinstance(actual, bool))
            return ok, f"expected type {arg}"
        if op == "$ieq":
            return isinstance(actual, str) and actual.lower() == str(arg).lower(), f"expected {arg!r} (any case)"
        if op == "$in":
            return actual in arg, f"expected one of {arg!r}"
        if op == "$le":
            return isinstance(actual, (int, float)) and actual <= arg, f"expected <= {arg}"
        if op == "$ge":
            return isinstance(actual, (int, float)) and actual >= arg, f"expected >= {arg}"
        if op == "$contains":
            return isinstance(actual, list) and any(_subset(i, arg) for i in actual), f"expected an item with {arg!r}"
        if op == "$not_contains":
            return isinstance(actual, list) and not any(_subset(i, arg) for i in actual), f"expected no item with {arg!r}"
        raise ValueError(f"unknown matcher {op}")
    if actual is _MISSING:
        return False, f"missing, expected {expected!r}"
    # JSON equality: true is not 1, 1 is 1.0.
    num = (int, float)
    if isinstance(actual, bool) or isinstance(expected, bool):
        ok = type(actual) is type(expected) and actual == expected
    elif isinstance(actual, num) and isinstance(expected, num):
        ok = actual == expected
    else:
        ok = type(actual) is type(expected) and actual == expected
    return ok, f"expected {expected!r}"


# --- static validation of a sequence file -----------------------------------------------------

def validate(seq, hooks=None):
    """Raises ValueError when the sequence is malformed: unknown keys, a variable used before it
    is provided or captured, a capture or an expectation on an answer that has no body, a check
    without a hook (when `hooks` is given)."""
    for key in ("client", "sources", "headers", "inputs", "steps"):
        if key not in seq:
            raise ValueError(f"sequence lacks {key!r}")
    if not seq["sources"]:
        raise ValueError("a sequence names its sources")
    if seq.get("query_encoding", "percent") not in ("percent", "plus"):
        raise ValueError("query_encoding is percent or plus")
    known = set(seq["inputs"])
    names = set()
    for i, step in enumerate(seq["steps"]):
        where = f"step {i} ({step.get('name')!r})"
        if not step.get("name"):
            raise ValueError(f"{where}: no name")
        if step["name"] in names:
            raise ValueError(f"{where}: duplicate name")
        names.add(step["name"])
        if "check" in step:
            extra = set(step) - CHECK_KEYS
            if extra:
                raise ValueError(f"{where}: unknown keys {sorted(extra)}")
            if hooks is not None and step["check"] not in hooks:
                raise ValueError(f"{where}: no hook {step['check']!r}")
            used = variables_in(step.get("args", {}))
        else:
            extra = set(step) - REQUEST_KEYS
            if extra:
                raise ValueError(f"{where}: unknown keys {sorted(extra)}")
            if step.get("method") not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                raise ValueError(f"{where}: bad method")
            if not isinstance(step.get("path"), str) or not step["path"].startswith("/"):
                raise ValueError(f"{where}: path must start with /")
            statuses = step.get("expect_status")
            statuses = statuses if isinstance(statuses, list) else [statuses]
            if not statuses or not all(isinstance(s, int) for s in statuses):
                raise ValueError(f"{where}: expect_status is an int or a list of ints")
            if (step.get("capture") or step.get("expect")) and 204 in statuses:
                raise ValueError(f"{where}: 204 has no body to capture from or expect on")
            if step["method"] in ("GET", "DELETE") and "body" in step:
                raise ValueError(f"{where}: {step['method']} with a body")
            for ptr in list((step.get("capture") or {}).values()) + list((step.get("expect") or {})):
                if ptr != "" and not ptr.startswith("/"):
                    raise ValueError(f"{where}: {ptr!r} is not a JSON pointer")
            for exp in (step.get("expect") or {}).values():
                if isinstance(exp, dict) and len(exp) == 1 and next(iter(exp)).startswith("$") \
                        and next(iter(exp)) not in MATCHERS:
                    raise ValueError(f"{where}: unknown matcher {exp}")
            used = variables_in([step["path"], step.get("query"), step.get("body"),
                                 step.get("expect"), step.get("headers")])
        missing = used - known
        if missing:
            raise ValueError(f"{where}: uses {sorted(missing)} before they are provided or captured")
        known |= set((step.get("capture") or {}).keys())
    return True


# --- running ----------------------------------------------------------------------------------

def _encode_query(query, style):
    if not query:
        return ""
    pairs = query.items() if isinstance(query, dict) else [tuple(p) for p in query]
    enc = quote_plus if style == "plus" else quote
    return "?" + "&".join(f"{enc(str(k), safe='')}={enc(str(v), safe='')}" for k, v in pairs)


def _show(resp_or_req_body, limit=4000):
    text = resp_or_req_body if isinstance(resp_or_req_body, str) else json.dumps(resp_or_req_body, indent=2)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _redact(headers):
    out = dict(headers)
    if "Authorization" in out:
        out["Authorization"] = out["Authorization"][:14] + "…"
    return out


def assert_scim_error(resp, status, scim_type=None):
    """Asserts a SCIM error answer (RFC 7644 §3.12) with this HTTP status (and scimType)."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text}"
    ctype = resp.headers.get("Content-Type", "").split(";")[0].strip()
    assert ctype == SCIM_JSON, f"error Content-Type {ctype!r}: {resp.text}"
    body = resp.json()
    assert ERROR_URN in body.get("schemas", []), body
    assert body.get("status") == str(status), f"status must be the string {str(status)!r}: {body}"
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


class Replay:
    """Runs sequences against one SCIM base URL with one bearer token."""

    def __init__(self, base_url, token, headers=None, hooks=None, variables=None, context=None,
                 query_encoding="percent", timeout=60, log=None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.headers = dict(headers or {"Accept": SCIM_JSON, "Content-Type": SCIM_JSON})
        self.hooks = dict(hooks or {})
        self.vars = dict(variables or {})
        self.context = context if context is not None else {}
        self.query_encoding = query_encoding
        self.timeout = timeout
        self.http = requests.Session()
        self.log = log if log is not None else []  # (step name, method, url, status)

    @classmethod
    def for_sequence(cls, seq, base_url, token, **kw):
        return cls(base_url, token, headers=seq["headers"],
                   query_encoding=seq.get("query_encoding", "percent"), **kw)

    def run(self, seq_or_steps):
        steps = seq_or_steps["steps"] if isinstance(seq_or_steps, dict) else seq_or_steps
        if isinstance(seq_or_steps, dict):
            missing = set(seq_or_steps["inputs"]) - set(self.vars)
            if missing:
                raise ReplayError(f"the test did not provide {sorted(missing)}")
        for step in steps:
            self.step(step)
        return self.vars

    def step(self, step):
        if "check" in step:
            hook = self.hooks.get(step["check"])
            if hook is None:
                raise ReplayError(f"[{step['name']}] no hook {step['check']!r}")
            args = substitute(step.get("args", {}), self.vars)
            try:
                hook(self, **args)
            except AssertionError as e:
                raise ReplayError(f"[{step['name']}] check {step['check']}({args}) failed: {e}") from e
            self.log.append((step["name"], "CHECK", step["check"], None))
            return None
        return self.request(step)

    def request(self, step):
        name = step["name"]
        path = substitute(step["path"], self.vars)
        query = substitute(step.get("query"), self.vars)
        url = self.base_url + path + _encode_query(query, self.query_encoding)
        headers = {**self.headers, **substitute(step.get("headers") or {}, self.vars)}
        if self.token is not None:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if "raw_body" in step:
            data = substitute(step["raw_body"], self.vars).encode()
        elif "body" in step:
            data = json.dumps(substitute(step["body"], self.vars)).encode()
        resp = self.http.request(step["method"], url, data=data, headers=headers,
                                 timeout=self.timeout, allow_redirects=False)
        self.log.append((name, step["method"], url, resp.status_code))
        self.last = resp

        def fail(why):
            raise ReplayError(
                f"\n=== SCIM replay step failed: {name}\n{why}\n"
                f"--- request\n{step['method']} {url}\n{json.dumps(_redact(headers), indent=2)}\n"
                f"{_show(data.decode()) if data else '(no body)'}\n"
                f"--- response\n{resp.status_code} {resp.reason}\n"
                f"{json.dumps(dict(resp.headers), indent=2)}\n{_show(resp.text) or '(no body)'}\n")

        statuses = step["expect_status"]
        statuses = statuses if isinstance(statuses, list) else [statuses]
        if resp.status_code not in statuses:
            fail(f"status {resp.status_code}, expected {' or '.join(map(str, statuses))}")
        body = None
        if resp.content:
            ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype != SCIM_JSON:
                fail(f"Content-Type {ctype!r}, expected {SCIM_JSON}")
            try:
                body = resp.json()
            except ValueError:
                fail("the body is not JSON")
            if resp.status_code >= 400:
                if ERROR_URN not in (body.get("schemas") or []):
                    fail("an error answer without the SCIM Error schema")
                if body.get("status") != str(resp.status_code):
                    fail(f"error 'status' must be the string {str(resp.status_code)!r}")
        elif resp.status_code >= 400:
            fail("an error answer without a SCIM error body")
        for ptr, expected in (step.get("expect") or {}).items():
            expected = substitute(expected, self.vars)
            ok, why = matches(pointer(body, ptr) if body is not None else _MISSING, expected)
            if not ok:
                got = pointer(body, ptr) if body is not None else _MISSING
                fail(f"{ptr}: {why}; got {'(missing)' if got is _MISSING else json.dumps(got)}")
        for var, ptr in (step.get("capture") or {}).items():
            got = pointer(body, ptr) if body is not None else _MISSING
            if got is _MISSING:
                fail(f"capture {var}: nothing at {ptr}")
            self.vars[var] = got
        return resp
