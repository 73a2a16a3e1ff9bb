#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints the database json-server(-auth) serves for tests/integration/test_realapp_bearer.sh:
#   seed.sh USERS PROJECTS NOTES
# users 1..USERS (other-N@example.test), projects 1..PROJECTS (project N owned by user
# ((N - 1) % USERS) + 1) and notes 1..NOTES (note N in project ((N - 1) % PROJECTS) + 1, owned
# by that project's user), so that what a session creates gets the next ids.
set -euo pipefail
jq -n --argjson u "$1" --argjson p "$2" --argjson n "$3" '{
    users: [range(1; $u + 1) | {id: ., email: "other-\(.)@example.test", password: "not-a-hash"}],
    projects: [range(1; $p + 1) | {id: ., name: "other-project-\(.)", userId: ((. - 1) % $u + 1)}],
    notes: [range(1; $n + 1) | ((. - 1) % $p + 1) as $pr
            | {id: ., text: "other-note-\(.)", projectId: $pr, userId: (($pr - 1) % $u + 1)}]
}'
