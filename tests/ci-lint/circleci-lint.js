#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// circleci-lint.js CONFIG.yml: check a CircleCI config with CircleCI's own config parser
// (@circleci/circleci-config-parser, which validates each component against the Config SDK's
// JSON schemas and resolves every job, command, executor and parameter a workflow names).
// Prints "CONFIG: ok" and exits 0, or one line "CONFIG: what is wrong" and exits 1.
// The parser does not know workflow-level `when:`; test_ci_recipes.sh checks that apart.
"use strict";
const fs = require("fs");
const { parseConfig, Validator } = require("@circleci/circleci-config-parser");

const path = process.argv[2];
if (!path) {
    console.error("usage: circleci-lint.js CONFIG.yml");
    process.exit(2);
}
Validator.validateOnParse = true;
try {
    const config = parseConfig(fs.readFileSync(path, "utf8"));
    if (config.jobs.length === 0 || config.workflows.length === 0) {
        throw new Error("no jobs or no workflows");
    }
    console.log(`${path}: ok (${config.jobs.length} jobs, ${config.workflows.length} workflows)`);
} catch (e) {
    const detail = e.errors ? ` ${JSON.stringify(e.errors)}` : "";
    console.log(`${path}: ${String(e.message).split("\n").join(": ")}${detail}`.slice(0, 2000));
    process.exit(1);
}
