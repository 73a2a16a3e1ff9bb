// SPDX-License-Identifier: MIT
// The Kubernetes manifests of deploy/kubernetes/ as tests/integration/test_k8s_manifest.sh
// reads them, with the packages locked in tests/k8s/package-lock.json.
//
//   node k8s.mjs validate FILE...
//       Checks every document of every FILE against the Kubernetes schema of its kind:
//       kubernetes-models' validate(), compiled from the OpenAPI schema (types, required
//       fields, enums), then every field against the kind's models in @kubernetes/client-node
//       (a field the API does not have is an error, as with kubectl --validate=strict; the
//       schema alone lets it through). One line per document, "ok FILE#N Kind/name" or
//       "not ok FILE#N ...: errors"; exit 1 when a document is invalid, is not a known kind,
//       or a file does not parse.
//
//   node k8s.mjs json FILE
//       Prints the documents of FILE as one JSON array.
//
//   node k8s.mjs pod FILE JOB INDEX [FIELD=VALUE...] [--secret NAME=KEY=VALUE] [--set NAME=VALUE]
//                    [--mount PATH=DIR]
//       Prints, as JSON, what the kubelet would run for index INDEX of the Job named JOB: its
//       first container's argv (command then args, with $(VAR) expanded as Kubernetes does),
//       its environment (values, fieldRefs given as FIELD=VALUE such as
//       "metadata.labels['batch.kubernetes.io/controller-uid']=abc", secret keys given with
//       --secret, JOB_COMPLETION_INDEX as the Job controller sets it), its volume mounts with
//       their expanded subPathExpr, and the Job's completions and parallelism. --set replaces an
//       env value as `kubectl set env` would; --mount runs the pod on this machine: every
//       "PATH/" in the argv becomes "DIR/SUBPATH/", SUBPATH being the mount's expanded
//       subPathExpr (empty without one), and mounts[].local says where that is.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
// The generated models only: the package's index also loads its HTTP client, which wants a
// newer Node.js than some machines have.
import * as models from "@kubernetes/client-node/dist/gen/models/all.js";

function die(msg) {
    process.stderr.write(`k8s.mjs: ${msg}\n`);
    process.exit(2);
}

function documents(file) {
    let text;
    try {
        text = readFileSync(file, "utf8");
    } catch (e) {
        die(`${file}: ${e.message}`);
    }
    const docs = parseAllDocuments(text);
    const out = [];
    for (const d of docs) {
        if (d.errors.length) {
            return { error: d.errors.map((e) => e.message).join("; ") };
        }
        const v = d.toJS();
        if (v !== null) {
            out.push(v);
        }
    }
    return { docs: out };
}

// kubernetes-models keeps the core group's kinds under "v1" and every other group under its
// own folder: apiVersion "batch/v1" is kubernetes-models/batch/v1.
async function modelOf(apiVersion, kind) {
    if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9./]+$/.test(apiVersion)) {
        return null;
    }
    let mod;
    try {
        mod = await import(`kubernetes-models/${apiVersion}`);
    } catch {
        return null;
    }
    return typeof mod[kind] === "function" ? mod[kind] : null;
}

// The model of an apiVersion and kind in @kubernetes/client-node: V1Job for batch/v1 Job.
function fieldsModel(apiVersion, kind) {
    const version = String(apiVersion).split("/").pop();
    const name = version.charAt(0).toUpperCase() + version.slice(1) + kind;
    return models[name]?.getAttributeTypeMap ? models[name] : null;
}

// The fields of value that its type does not have, as "path/field" strings. A type is a model
// class name, Array<T>, a map "{ [key: string]: T; }", or a scalar (not looked into: the
// schema checks those).
function unknownFields(value, type, path, out) {
    if (value === null || value === undefined) {
        return out;
    }
    const arr = /^Array<(.+)>$/.exec(type);
    if (arr) {
        if (Array.isArray(value)) {
            value.forEach((v, i) => unknownFields(v, arr[1], `${path}/${i}`, out));
        }
        return out;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
        if (typeof value === "object") {
            for (const [k, v] of Object.entries(value)) {
                unknownFields(v, map[1], `${path}/${k}`, out);
            }
        }
        return out;
    }
    const model = models[type];
    if (!model?.getAttributeTypeMap || typeof value !== "object" || Array.isArray(value)) {
        return out;
    }
    const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value)) {
        if (!attrs.has(k)) {
            out.push(`${path}/${k}`);
        } else {
            unknownFields(v, attrs.get(k), `${path}/${k}`, out);
        }
    }
    return out;
}

async function validate(files) {
    let bad = 0;
    for (const file of files) {
        const { docs, error } = documents(file);
        if (error) {
            console.log(`not ok ${file}: YAML: ${error}`);
            bad++;
            continue;
        }
        if (docs.length === 0) {
            console.log(`not ok ${file}: no document`);
            bad++;
        }
        for (const [i, doc] of docs.entries()) {
            const where = `${file}#${i + 1}`;
            const Model = await modelOf(doc?.apiVersion, doc?.kind);
            const name = `${doc?.kind}/${doc?.metadata?.name}`;
            if (!Model) {
                console.log(`not ok ${where} ${name}: no schema for apiVersion ${doc?.apiVersion} kind ${doc?.kind}`);
                bad++;
                continue;
            }
            const fm = fieldsModel(doc.apiVersion, doc.kind);
            if (!fm) {
                console.log(`not ok ${where} ${name}: no field list for apiVersion ${doc.apiVersion} kind ${doc.kind}`);
                bad++;
                continue;
            }
            const errors = [];
            try {
                new Model(doc).validate();
            } catch (e) {
                errors.push(String(e.message ?? e).replace(/\s+/g, " "));
            }
            const unknown = unknownFields(doc, fm.name, "data", []);
            if (unknown.length) {
                errors.push(`unknown field ${unknown.join(", unknown field ")}`);
            }
            if (errors.length) {
                console.log(`not ok ${where} ${name}: ${errors.join("; ")}`);
                bad++;
            } else {
                console.log(`ok ${where} ${name}`);
            }
        }
    }
    process.exit(bad ? 1 : 0);
}

// $(VAR) becomes VAR's value when VAR is defined, $$ is a literal $, anything else is left as
// it stands: Kubernetes' expansion of command, args, env values and subPathExpr.
function expand(s, env) {
    return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name) => {
        if (m === "$$") {
            return "$";
        }
        return Object.hasOwn(env, name) ? env[name] : m;
    });
}

function pod(file, jobName, index, rest) {
    const fields = {};
    const secrets = {};
    const sets = {};
    const local = {};
    const pair = (s) => {
        const eq = (s ?? "").indexOf("=");
        if (eq < 1) {
            die(`not NAME=VALUE: ${s}`);
        }
        return [s.slice(0, eq), s.slice(eq + 1)];
    };
    for (let i = 0; i < rest.length; i++) {
        if (rest[i] === "--secret") {
            const [name, key, ...value] = (rest[++i] ?? "").split("=");
            secrets[`${name}/${key}`] = value.join("=");
        } else if (rest[i] === "--set") {
            const [k, v] = pair(rest[++i]);
            sets[k] = v;
        } else if (rest[i] === "--mount") {
            const [k, v] = pair(rest[++i]);
            local[k] = v;
        } else {
            const eq = rest[i].indexOf("=");
            if (eq < 0) {
                die(`not FIELD=VALUE: ${rest[i]}`);
            }
            fields[rest[i].slice(0, eq)] = rest[i].slice(eq + 1);
        }
    }
    const { docs, error } = documents(file);
    if (error) {
        die(`${file}: ${error}`);
    }
    const job = docs.find((d) => d.kind === "Job" && d.metadata?.name === jobName);
    if (!job) {
        die(`${file}: no Job named ${jobName}`);
    }
    const c = job.spec.template.spec.containers[0];
    const env = {};
    for (const e of c.env ?? []) {
        if (Object.hasOwn(sets, e.name)) {
            env[e.name] = sets[e.name];
        } else if (e.value !== undefined) {
            env[e.name] = expand(String(e.value), env);
        } else if (e.valueFrom?.fieldRef) {
            const f = e.valueFrom.fieldRef.fieldPath;
            if (!Object.hasOwn(fields, f)) {
                die(`env ${e.name}: give the value of ${f}`);
            }
            env[e.name] = fields[f];
        } else if (e.valueFrom?.secretKeyRef) {
            const r = e.valueFrom.secretKeyRef;
            const k = `${r.name}/${r.key}`;
            if (Object.hasOwn(secrets, k)) {
                env[e.name] = secrets[k];
            } else if (!r.optional) {
                die(`env ${e.name}: give secret ${k}`);
            }
        } else {
            die(`env ${e.name}: a source this script does not know`);
        }
    }
    // The Job controller adds it to every container of an Indexed Job's pods.
    if (job.spec.completionMode === "Indexed") {
        env.JOB_COMPLETION_INDEX = String(index);
    }
    for (const k of Object.keys(sets)) {
        if (!Object.hasOwn(env, k)) {
            die(`--set ${k}: the container has no such env`);
        }
    }
    let argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expand(String(a), env));
    const mounts = (c.volumeMounts ?? []).map((m) => ({
        name: m.name,
        mountPath: m.mountPath,
        subPath: m.subPathExpr !== undefined ? expand(m.subPathExpr, env) : (m.subPath ?? ""),
        readOnly: !!m.readOnly,
    }));
    const mapped = {};
    for (const m of mounts) {
        if (Object.hasOwn(local, m.mountPath)) {
            m.local = m.subPath ? `${local[m.mountPath]}/${m.subPath}` : local[m.mountPath];
            mapped[`${m.mountPath}/`] = `${m.local}/`;
        }
    }
    // In one pass, so that a path already mapped is never mapped again.
    const keys = Object.keys(mapped).sort((a, b) => b.length - a.length);
    if (keys.length) {
        const re = new RegExp(keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
        argv = argv.map((a) => a.replace(re, (m) => mapped[m]));
    }
    const envFrom = (c.envFrom ?? []).map((f) => f.secretRef?.name ?? f.configMapRef?.name);
    console.log(JSON.stringify({
        argv, env, envFrom, mounts,
        completions: job.spec.completions ?? null,
        parallelism: job.spec.parallelism ?? null,
    }));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "validate" && args.length) {
    await validate(args);
} else if (cmd === "json" && args.length === 1) {
    const { docs, error } = documents(args[0]);
    if (error) {
        die(`${args[0]}: ${error}`);
    }
    console.log(JSON.stringify(docs));
} else if (cmd === "pod" && args.length >= 3) {
    pod(args[0], args[1], args[2], args.slice(3));
} else {
    die("usage: k8s.mjs validate FILE... | json FILE | pod FILE JOB INDEX [FIELD=VALUE...] [options]");
}
