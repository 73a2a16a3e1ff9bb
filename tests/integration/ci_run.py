#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Runs one job of a CI recipe (ci-recipes/) here, for test_ci_recipes.sh: its shell steps, in
# order, in the current directory, with the environment the CI would give them, as the CI's
# runner would run them (bash -eo pipefail; a failing step fails the job). Steps that install
# reprise are left out, since the test puts the build tree's reprise on PATH instead: GitHub
# steps named "Install reprise...", CircleCI run steps named "Install reprise...", GitLab's
# before_script. Steps that use an action or a CI feature (checkout, artifacts, workspaces) are
# left out too: the test runs every job in one directory, which is what they carry between
# jobs.
#
#   ci_run.py github WORKFLOW JOB [--matrix K=V] [--var K=V] [--secret K=V]
#       the environment's GITHUB_EVENT_PATH is the event; GITHUB_EVENT_NAME, GITHUB_RUN_ID,
#       GITHUB_RUN_ATTEMPT, GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_STEP_SUMMARY come
#       from the environment too. Expressions (${{ }}, if:) are evaluated: paths into github,
#       inputs, matrix, vars, secrets, env; == != && || ! and status functions. $GITHUB_ENV
#       lines carry over to the later steps.
#   ci_run.py github-if WORKFLOW JOB                  "run" or "skip" from the job's if:
#   ci_run.py circleci CONFIG JOB [--param K=V]       << pipeline.parameters.K >> filled in
#   ci_run.py circleci-workflows CONFIG [--param K=V] the jobs each workflow whose when: holds
#                                                     would run, as "WORKFLOW JOB" lines
#   ci_run.py gitlab FILE JOB                         the job's script (extends: followed)
#   ci_run.py gitlab-rules FILE JOB                   "run" or "never" from its rules: and
#                                                     the environment's CI_* variables
#   ci_run.py scripts KIND FILE DIR                   every shell step of every job (KIND:
#                                                     github, circleci, gitlab) written to
#                                                     DIR/JOB.N.sh, for shellcheck
# Exits with the first failing step's code, 0 when all passed, 78 when a GitHub job's if: is
# false (the job is skipped), 2 for a usage error or a construct it does not know.
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml


def fail(msg):
    print(f"ci_run: {msg}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- expressions (GitHub, GitLab)

TOKEN = re.compile(r"""\s*(?:(\|\||&&|==|!=|!|\(|\)|,)|'((?:[^']|'')*)'|"([^"]*)"|"""
                   r"""\$([A-Za-z_][A-Za-z0-9_]*)|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_.\-]*))""")


def tokenize(text):
    toks, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            fail(f"cannot read the expression {text!r} at {pos}")
        pos = m.end()
        op, sq, dq, var, num, name = m.groups()
        if op:
            toks.append(("op", op))
        elif sq is not None:
            toks.append(("lit", sq.replace("''", "'")))
        elif dq is not None:
            toks.append(("lit", dq))
        elif var:
            toks.append(("var", var))
        elif num:
            toks.append(("lit", float(num) if "." in num else int(num)))
        else:
            toks.append(("name", name))
    return toks


class Expr:
    """A recursive-descent evaluator of the expressions the recipes use."""

    def __init__(self, text, lookup, funcs):
        self.toks, self.i, self.lookup, self.funcs = tokenize(text), 0, lookup, funcs

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def run(self):
        v = self.or_()
        if self.i != len(self.toks):
            fail(f"unexpected {self.peek()[1]!r} in an expression")
        return v

    def or_(self):
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            w = self.and_()
            v = v if truthy(v) else w
        return v

    def and_(self):
        v = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            w = self.cmp()
            v = w if truthy(v) else v
        return v

    def cmp(self):
        v = self.unary()
        if self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            w = self.unary()
            same = (str(v).lower() if v is not None else None) == \
                   (str(w).lower() if w is not None else None)
            return same if op == "==" else not same
        return v

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self):
        kind, val = self.take()
        if kind == "op" and val == "(":
            v = self.or_()
            if self.take() != ("op", ")"):
                fail("missing ) in an expression")
            return v
        if kind == "lit":
            return val
        if kind == "var":
            return os.environ.get(val) if self.lookup is None else self.lookup("env." + val)
        if kind == "name":
            if val in ("true", "false"):
                return val == "true"
            if val == "null":
                return None
            if self.peek() == ("op", "("):
                self.take()
                if self.take() != ("op", ")") or val not in self.funcs:
                    fail(f"unknown function {val}()")
                return self.funcs[val]()
            return self.lookup(val)
        fail(f"unexpected {val!r} in an expression")


def truthy(v):
    return v not in (None, "", 0, False)


def as_text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# ---------------------------------------------------------------- running steps

def run_script(name, script, env, shell):
    print(f"ci_run: step {name}", file=sys.stderr, flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(script)
    try:
        return subprocess.run(shell + [f.name], env=env).returncode
    finally:
        os.unlink(f.name)


def skip(name, why):
    print(f"ci_run: skip {name} ({why})", file=sys.stderr, flush=True)


def pairs(values):
    out = {}
    for v in values:
        k, sep, w = v.partition("=")
        if not sep:
            fail(f"expected K=V, got {v!r}")
        out[k] = w
    return out


def options(argv):
    opts = {}
    it = iter(argv)
    for a in it:
        if not a.startswith("--"):
            fail(f"unexpected argument {a!r}")
        opts.setdefault(a[2:], []).append(next(it, None) or fail(f"{a} needs a value"))
    return {k: pairs(v) for k, v in opts.items()}


# ---------------------------------------------------------------- GitHub Actions

def github(path, job_name, opts, only_if=False):
    wf = yaml.safe_load(open(path))
    job = (wf.get("jobs") or {}).get(job_name) or fail(f"no job {job_name} in {path}")
    event = json.load(open(os.environ["GITHUB_EVENT_PATH"]))
    ctx = {
        "github": {"event_name": os.environ.get("GITHUB_EVENT_NAME", ""), "event": event,
                   "run_id": os.environ.get("GITHUB_RUN_ID", ""),
                   "run_attempt": os.environ.get("GITHUB_RUN_ATTEMPT", ""),
                   "server_url": os.environ.get("GITHUB_SERVER_URL", ""),
                   "repository": os.environ.get("GITHUB_REPOSITORY", "")},
        "inputs": event.get("inputs") or {},
        "matrix": opts.get("matrix", {}),
        "vars": opts.get("var", {}),
        "secrets": opts.get("secret", {}),
        "env": {},
    }
    failed = [False]
    funcs = {"always": lambda: True, "cancelled": lambda: False,
             "success": lambda: not failed[0], "failure": lambda: failed[0]}

    def lookup(p):
        v = ctx
        for part in p.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        return v

    def ev(text):
        return Expr(text, lookup, funcs).run()

    def cond(text):
        text = str(text).strip()
        m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
        return truthy(ev(m.group(1) if m else text))

    def fill(value):
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: as_text(ev(m.group(1))), as_text(value))

    if "if" in job and not cond(job["if"]):
        if only_if:
            print("skip")
            return 0
        print(f"ci_run: job {job_name} skipped (if: {job['if']})", file=sys.stderr)
        return 78
    if only_if:
        print("run")
        return 0
    shell_default = ((wf.get("defaults") or {}).get("run") or {}).get("shell")
    env = dict(os.environ)
    for scope in (wf.get("env") or {}, job.get("env") or {}):
        for k, v in scope.items():
            env[k] = ctx["env"][k] = fill(v)
    code = 0
    for n, step in enumerate(job.get("steps") or [], 1):
        name = fill(step.get("name") or step.get("uses") or f"step {n}")
        if not cond(step.get("if", "success()")):
            skip(name, "if: false")
            continue
        if "uses" in step:
            skip(name, "an action")
            continue
        if name.startswith("Install reprise"):
            skip(name, "reprise is on PATH")
            continue
        step_env = dict(env)
        for k, v in (step.get("env") or {}).items():
            step_env[k] = fill(v)
        with tempfile.NamedTemporaryFile("w", delete=False) as genv:
            pass
        step_env["GITHUB_ENV"] = genv.name
        shell = step.get("shell") or shell_default
        if shell not in (None, "bash"):
            fail(f"step {name}: shell {shell} is not run here")
        argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail"] if shell else ["bash", "-e"]
        rc = run_script(name, step["run"], step_env, argv)
        for line in open(genv.name).read().splitlines():
            k, sep, v = line.partition("=")
            if sep:
                env[k] = ctx["env"][k] = v
        os.unlink(genv.name)
        if rc != 0:
            print(f"ci_run: step {name} failed (exit {rc})", file=sys.stderr)
            failed[0] = True
            code = code or rc
    return code


# ---------------------------------------------------------------- CircleCI

def circleci_load(path, params):
    cfg = yaml.safe_load(open(path))
    values = {k: (v or {}).get("default") for k, v in (cfg.get("parameters") or {}).items()}
    for k, v in params.items():
        if k not in values:
            fail(f"no pipeline parameter {k} in {path}")
        values[k] = v

    def fill(x):
        if isinstance(x, str):
            def one(m):
                if m.group(1) not in values:
                    fail(f"unknown pipeline parameter {m.group(1)}")
                return as_text(values[m.group(1)])
            whole = re.fullmatch(r"<<\s*pipeline\.parameters\.([\w-]+)\s*>>", x.strip())
            if whole:
                return values.get(whole.group(1))
            return re.sub(r"<<\s*pipeline\.parameters\.([\w-]+)\s*>>", one, x)
        if isinstance(x, list):
            return [fill(y) for y in x]
        if isinstance(x, dict):
            return {k: fill(v) for k, v in x.items()}
        return x
    return fill(cfg)


def circleci_when(w):
    if isinstance(w, dict):
        if "and" in w:
            return all(circleci_when(x) for x in w["and"])
        if "or" in w:
            return any(circleci_when(x) for x in w["or"])
        if "not" in w:
            return not circleci_when(w["not"])
        if "equal" in w:
            return len({json.dumps(x) for x in w["equal"]}) == 1
        fail(f"unknown when: {w}")
    return truthy(w)


def circleci_workflows(path, opts):
    cfg = circleci_load(path, opts.get("param", {}))
    for name, wf in (cfg.get("workflows") or {}).items():
        if name == "version" or not circleci_when(wf.get("when", True)):
            continue
        if "unless" in wf and circleci_when(wf["unless"]):
            continue
        for j in wf.get("jobs") or []:
            print(f"{name} {j if isinstance(j, str) else next(iter(j))}")
    return 0


def circleci(path, job_name, opts):
    cfg = circleci_load(path, opts.get("param", {}))
    job = (cfg.get("jobs") or {}).get(job_name) or fail(f"no job {job_name} in {path}")
    env = dict(os.environ)
    for k, v in (job.get("environment") or {}).items():
        env[k] = as_text(v)
    for n, step in enumerate(job.get("steps") or [], 1):
        if isinstance(step, str):
            skip(step, "not a run step")
            continue
        kind, body = next(iter(step.items()))
        if kind != "run":
            skip(kind, "not a run step")
            continue
        if isinstance(body, str):
            body = {"command": body}
        name = body.get("name") or f"step {n}"
        if name.startswith("Install reprise"):
            skip(name, "reprise is on PATH")
            continue
        step_env = dict(env)
        step_env.update({k: as_text(v) for k, v in (body.get("environment") or {}).items()})
        rc = run_script(name, body["command"], step_env, ["bash", "-eo", "pipefail"])
        if rc != 0:
            print(f"ci_run: step {name} failed (exit {rc})", file=sys.stderr)
            return rc
    return 0


# ---------------------------------------------------------------- GitLab CI

def gitlab_job(path, job_name):
    cfg = yaml.safe_load(open(path))
    if job_name not in cfg:
        fail(f"no job {job_name} in {path}")

    def resolve(name, depth=0):
        if depth > 10:
            fail("extends: nests too deep")
        job = cfg.get(name) or fail(f"no job or template {name} in {path}")
        parents = job.get("extends") or []
        merged = {}
        for p in [parents] if isinstance(parents, str) else parents:
            merged.update(resolve(p, depth + 1))
        merged.update({k: v for k, v in job.items() if k != "extends"})
        return merged
    return cfg, resolve(job_name)


def gitlab_rules(path, job_name, _opts):
    _, job = gitlab_job(path, job_name)
    for rule in job.get("rules") or [{}]:
        if "if" not in rule or truthy(Expr(rule["if"], None, {}).run()):
            print("never" if rule.get("when") == "never" else "run")
            return 0
    print("never")
    return 0


def gitlab(path, job_name, _opts):
    cfg, job = gitlab_job(path, job_name)
    env = dict(os.environ)
    for scope in (cfg.get("variables") or {}, job.get("variables") or {}):
        for k, v in scope.items():
            env[k] = as_text(v["value"] if isinstance(v, dict) else v)
    if job.get("before_script"):
        skip("before_script", "reprise is on PATH")
    lines = job.get("script") or fail(f"job {job_name} has no script")
    script = "\n".join(lines if isinstance(lines, list) else [lines]) + "\n"
    return run_script(f"{job_name} script", script, env, ["bash", "-eo", "pipefail"])


def scripts(kind, path, out_dir):
    cfg = yaml.safe_load(open(path))
    found = []
    if kind == "github":
        for job, body in (cfg.get("jobs") or {}).items():
            found += [(job, s["run"]) for s in body.get("steps") or [] if "run" in s]
    elif kind == "circleci":
        for job, body in (cfg.get("jobs") or {}).items():
            for s in body.get("steps") or []:
                if isinstance(s, dict) and "run" in s:
                    run = s["run"]
                    found.append((job, run if isinstance(run, str) else run["command"]))
    elif kind == "gitlab":
        for job, body in cfg.items():
            if not isinstance(body, dict):
                continue
            for key in ("before_script", "script", "after_script"):
                lines = body.get(key)
                if lines:
                    found.append((job, "\n".join(lines if isinstance(lines, list) else [lines])))
    else:
        fail(f"unknown kind {kind}")
    for n, (job, text) in enumerate(found, 1):
        with open(os.path.join(out_dir, f"{job}.{n}.sh"), "w") as f:
            f.write("#!/bin/bash\n" + text + "\n")
    print(len(found))
    return 0


def main():
    if len(sys.argv) < 3:
        fail("usage: ci_run.py github|github-if|circleci|circleci-workflows|gitlab|gitlab-rules FILE [JOB] ...")
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "scripts":
        if len(sys.argv) != 5:
            fail("usage: ci_run.py scripts github|circleci|gitlab FILE DIR")
        return scripts(path, sys.argv[3], sys.argv[4])
    if kind == "circleci-workflows":
        return circleci_workflows(path, options(sys.argv[3:]))
    if len(sys.argv) < 4:
        fail(f"{kind} needs a job name")
    job, opts = sys.argv[3], options(sys.argv[4:])
    runners = {"github": github, "circleci": circleci, "gitlab": gitlab,
               "github-if": lambda p, j, o: github(p, j, o, only_if=True),
               "gitlab-rules": gitlab_rules}
    if kind not in runners:
        fail(f"unknown kind {kind}")
    return runners[kind](path, job, opts)


if __name__ == "__main__":
    sys.exit(main())
