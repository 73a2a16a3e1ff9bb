#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real third-party application: json-graphql-server (npm, installed into tests/realapps by
# tools/install-deps.sh), a GraphQL server over the data of tests/realapps/graphql/data.js. A
# session is recorded through `reprise record` as a client drives it: create a tenant, a
# project in it, two tasks; read them back; update one, remove the other, rename the project.
# The ids the mutations return come back in `variables` and inline in the query text
# (`Tenant(id: "3")`). Recorded where the new tenant and project are 3 and the tasks 4 and 5;
# replayed twice on a server where they are 11, 11, 21, 22 (then 12, 12, 23, 24) and where
# tenant 3, project 3 and tasks 4 and 5 belong to someone else. After each replay the
# server's own API says what happened.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
source "$src/tools/lib/check.sh"
source "$src/tools/lib/proxy.sh"
source "$src/tools/lib/realapp.sh"

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do ra_stop "$p"; done
    rm -rf "$tmp"
}
trap cleanup EXIT

need curl jq zcat node
server=$(ra_node_modules)/json-graphql-server/bin/json-graphql-server.cjs
[ -f "$server" ] || skip "json-graphql-server is not installed in tests/realapps (tools/install-deps.sh)"

# start_app TENANTS PROJECTS TASKS: a fresh server whose next ids follow those; sets APP_URL.
start_app() {
    local port
    port=$(ra_port)
    REALAPP_TENANTS=$1 REALAPP_PROJECTS=$2 REALAPP_TASKS=$3 ra_start "$tmp/server.$1.log" \
        node "$server" "$src/tests/realapps/graphql/data.js" --port "$port" --host 127.0.0.1
    APP_PID=$RA_PID
    APP_URL=http://127.0.0.1:$port
    ra_wait_http "$APP_URL/"
}

# gql URL QUERY [VARIABLES]: POST a GraphQL request as a client does; prints the response.
gql() {
    local body
    body=$(jq -nc --arg q "$2" --argjson v "${3:-null}" 'if $v == null then {query: $q} else {query: $q, variables: $v} end')
    curl -sS --max-time 30 -H 'Content-Type: application/json' -H 'Accept: application/json' -d "$body" "$1/"
}

# 1. Record: tenants 1-2, projects 1-2, tasks 1-3 exist.
start_app 2 2 3 || { bad "json-graphql-server starts: $(tail -n3 "$tmp"/server.*.log)"; echo "$pass passed, $fail failed"; exit 1; }
rec=$tmp/graphql.jsonl.gz
px_start "$tmp/px" --upstream "$APP_URL" -o "$rec" --tenant acme
P=$PX_URL
r=$(gql "$P" 'mutation CreateTenant($name: String!) { createTenant(name: $name) { id name } }' '{"name":"acme"}')
tenant=$(jq -r .data.createTenant.id <<<"$r")
r=$(gql "$P" 'mutation CreateProject($tenant: ID!) { createProject(name: "roadmap", tenant_id: $tenant) { id name tenant_id } }' \
    "$(jq -nc --arg t "$tenant" '{tenant: $t}')")
project=$(jq -r .data.createProject.id <<<"$r")
gql "$P" "query { Tenant(id: \"$tenant\") { id name Projects { id name } } }" >/dev/null
r=$(gql "$P" 'mutation CreateTask($project: ID!) { createTask(title: "write", done: false, project_id: $project) { id title } }' \
    "$(jq -nc --arg p "$project" '{project: $p}')")
task1=$(jq -r .data.createTask.id <<<"$r")
r=$(gql "$P" "mutation { createTask(title: \"scratch\", done: false, project_id: \"$project\") { id title } }")
task2=$(jq -r .data.createTask.id <<<"$r")
gql "$P" 'query ProjectTasks($id: ID!) { Project(id: $id) { id name Tasks { id title done } } }' \
    "$(jq -nc --arg p "$project" '{id: $p}')" >/dev/null
r1=$(gql "$P" 'mutation Done($id: ID!) { updateTask(id: $id, done: true) { id done } }' "$(jq -nc --arg t "$task1" '{id: $t}')")
r2=$(gql "$P" "mutation { removeTask(id: \"$task2\") { id } }")
r3=$(gql "$P" "mutation { updateProject(id: \"$project\", name: \"roadmap-2\") { id name } }")
px_stop INT
ra_forget "$PX_PID"
check "the proxy stops with exit 0 (exit $code)" test "$code" -eq 0
check "recording: the new tenant is 3 ($tenant)" test "$tenant" = 3
check "recording: the new project is 3 ($project)" test "$project" = 3
check "recording: the new tasks are 4 and 5 ($task1 $task2)" test "$task1 $task2" = "4 5"
check "recording: task 4 is updated ($r1)" test "$(jq -r .data.updateTask.done <<<"$r1")" = true
check "recording: task 5 is removed ($r2)" test "$(jq -r .data.removeTask.id <<<"$r2")" = 5
check "recording: project 3 is renamed ($r3)" test "$(jq -r .data.updateProject.name <<<"$r3")" = roadmap-2
check "the recording has the 9 exchanges" test "$(zcat "$rec" | tail -n +2 | grep -c .)" -eq 9
ra_stop "$APP_PID"

echo "--- reprise show --correlations"
"$REPRISE" show --correlations "$rec" >"$tmp/corr.out" 2>&1 || true
sed 's/^/    /' "$tmp/corr.out"
# Exchanges: 1 createTenant (3), 2 createProject with variables.tenant 3, 3 Tenant(id: "3")
# inline, 4 createTask with variables.project 3, 5 createTask with project_id: "3" inline,
# 6 Project with variables.id 3, 7 updateTask with variables.id 4, 8 removeTask(id: "5")
# inline, 9 updateProject(id: "3") inline.
corr_to() { ra_corr_to "$tmp/corr.out" "$@"; }
check "show --correlations: createTenant's id 3 is carried into #2's variables" corr_to 2 3
check "show --correlations: ... and into #3's query text (Tenant(id: \"3\"))" corr_to 3 3
check "show --correlations: createProject's id 3 is carried into #4's variables" corr_to 4 3
check "show --correlations: ... and into #5's query text (project_id: \"3\")" corr_to 5 3
corr_p() { corr_to 6 3 && corr_to 9 3; }
check "show --correlations: ... and into #6's variables and #9's query text" corr_p
check "show --correlations: createTask's id 4 is carried into #7's variables" corr_to 7 4
check "show --correlations: createTask's id 5 is carried into #8's query text (removeTask(id: \"5\"))" corr_to 8 5

# 2. Replay twice on a server with tenants 1-10, projects 1-10 and tasks 1-20.
start_app 10 10 20 || { bad "json-graphql-server starts for the replay"; echo "$pass passed, $fail failed"; exit 1; }
api() { gql "$APP_URL" "$@"; }
seeded=$(api '{ allTenants(filter: {ids: ["1","2","3","4","5","6","7","8","9","10"]}) { id name } allProjects { id name tenant_id } allTasks { id title done project_id } }')
seeded_tasks=$(jq -c '[.data.allTasks[] | select((.id|tonumber) <= 20)]' <<<"$seeded")
seeded_projects=$(jq -c '[.data.allProjects[] | select((.id|tonumber) <= 10)]' <<<"$seeded")
check "the replay server has its 20 seeded tasks and 10 projects" \
    test "$(jq length <<<"$seeded_tasks") $(jq length <<<"$seeded_projects")" = "20 10"
# sent_var RUN SEQ: the variables replay sent in request SEQ; sent_query RUN SEQ: its query.
sent_var() { zcat 2>/dev/null "$tmp/replay$1.results.jsonl.gz" | tail -n +2 | sed -n "$2p" | jq -c '.request.body | fromjson | .variables' 2>/dev/null || true; }
sent_query() { zcat 2>/dev/null "$tmp/replay$1.results.jsonl.gz" | tail -n +2 | sed -n "$2p" | jq -r '.request.body | fromjson | .query' 2>/dev/null || true; }
live() { zcat 2>/dev/null "$tmp/replay$1.results.jsonl.gz" | tail -n +2 | sed -n "$2p" | jq -r ".response.body | fromjson | $3" 2>/dev/null || true; }
for run in 1 2; do
    ra_replay "$tmp/replay$run" "$rec" "$APP_URL"
    echo "--- what replay $run sent"
    ra_sent "$tmp/replay$run" | sed 's/^/    /'
    check "replay $run: exit 0 (exit $code)" test "$code" -eq 0
    check "replay $run: a fresh tenant ($RA_TENANT)" test -n "$RA_TENANT" -a "$RA_TENANT" != acme
    # What reprise sent, against what the live server had answered.
    lt=$(live "$run" 1 .data.createTenant.id)
    lp=$(live "$run" 2 .data.createProject.id)
    l4=$(live "$run" 4 .data.createTask.id)
    l5=$(live "$run" 5 .data.createTask.id)
    echo "    live ids of replay $run: tenant ${lt:-none}, project ${lp:-none}, tasks ${l4:-none} ${l5:-none}"
    check "replay $run: #2 sends the live tenant ${lt:-?} in its variables (sent $(sent_var "$run" 2))" \
        test "$(sent_var "$run" 2)" = "{\"tenant\":\"${lt:-x}\"}"
    check "replay $run: #3 asks for the live tenant inline (sent: $(sent_query "$run" 3 | grep -o 'Tenant(id: [^)]*)'))" \
        grep -qF "Tenant(id: \"${lt:-x}\")" <<<"$(sent_query "$run" 3)"
    check "replay $run: #4 sends the live project ${lp:-?} in its variables (sent $(sent_var "$run" 4))" \
        test "$(sent_var "$run" 4)" = "{\"project\":\"${lp:-x}\"}"
    check "replay $run: #5 puts the live project inline (sent: $(sent_query "$run" 5 | grep -o 'project_id: "[^"]*"'))" \
        grep -qF "project_id: \"${lp:-x}\"" <<<"$(sent_query "$run" 5)"
    check "replay $run: #7 updates the live task ${l4:-?} (sent $(sent_var "$run" 7))" \
        test "$(sent_var "$run" 7)" = "{\"id\":\"${l4:-x}\"}"
    check "replay $run: #8 removes the live task ${l5:-?} (sent: $(sent_query "$run" 8 | grep -o 'removeTask(id: [^)]*)'))" \
        grep -qF "removeTask(id: \"${l5:-x}\")" <<<"$(sent_query "$run" 8)"
    # The server's state, from its own API.
    st=$(api "{ allTenants(filter: {name: \"$RA_TENANT\"}) { id } allProjects { id name tenant_id } allTasks { id title done project_id } }")
    tids=$(jq -r '[.data.allTenants[].id] | join(",")' <<<"$st")
    check "replay $run: the server has one tenant named $RA_TENANT, a new one (ids: ${tids:-none})" \
        test -n "$tids" -a "${tids//[0-9]/}" = "" -a "${tids:-0}" -ge 11
    mine=$(jq -c --arg t "${tids:-x}" '[.data.allProjects[] | select(.tenant_id == $t) | {id, name}]' <<<"$st")
    check "replay $run: the tenant has one project, new and renamed to roadmap-2 ($mine)" \
        test "$(jq -r 'if length == 1 and (.[0].id|tonumber) >= 11 then .[0].name else "" end' <<<"$mine")" = roadmap-2
    mp=$(jq -r '.[0].id // "none"' <<<"$mine")
    tasks=$(jq -c --arg p "$mp" '[.data.allTasks[] | select(.project_id == $p) | {id, title, done}]' <<<"$st")
    check "replay $run: its project holds one task, new, 'write', done; 'scratch' removed ($tasks)" \
        test "$(jq -r 'if length == 1 and (.[0].id|tonumber) >= 21 then "\(.[0].title) \(.[0].done)" else "" end' <<<"$tasks")" = "write true"
    now=$(jq -c '[.data.allTasks[] | select((.id|tonumber) <= 20)]' <<<"$st")
    check "replay $run: the seeded tasks 1-20 are there, unchanged (changed or gone: $(jq -nc --argjson a "$seeded_tasks" --argjson b "$now" '[$a[] | select(. as $x | $b | index([$x]) | not) | .id]'))" \
        test "$now" = "$seeded_tasks"
    now=$(jq -c '[.data.allProjects[] | select((.id|tonumber) <= 10)]' <<<"$st")
    check "replay $run: the seeded projects 1-10 are there, unchanged (changed or gone: $(jq -nc --argjson a "$seeded_projects" --argjson b "$now" '[$a[] | select(. as $x | $b | index([$x]) | not) | .id]'))" \
        test "$now" = "$seeded_projects"
    wrong=$(jq -c --arg p "$mp" --arg a "${l4:-x}" --arg b "${l5:-x}" \
        '[.data.allTasks[] | select((.id == $a or .id == $b) and .project_id != $p) | {id, title, project_id}]' <<<"$st")
    check "replay $run: the tasks this run created (${l4:-none} ${l5:-none}) are in its project ${mp} or gone (elsewhere: $wrong)" \
        test "$wrong" = "[]"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
