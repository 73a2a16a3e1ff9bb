#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real third-party application: json-server with json-server-auth (npm, installed into
# tests/realapps by tools/install-deps.sh), a REST API whose sign-up and log-in answer with a
# JWT (`accessToken`) that every later request sends as `Authorization: Bearer …`; the routes
# of tests/realapps/json-server/routes.json need it. A session is recorded through `reprise
# record`: sign up, create a project with the sign-up token (its owner is the new user's id),
# log in (a second token), list, read and rename the project, add a note to it, list its
# notes, delete the note. Recorded where the new user and project are 3 and the note 4;
# replayed twice on a database where they are 11, 11, 21 (then 12, 12, 22) and where user 3,
# project 3 and note 4 belong to someone else. After each replay the server's own state says
# what happened: its database (db.json) and its request log (whose token each request bore).
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
server=$(ra_node_modules)/json-server-auth/dist/bin.js
[ -f "$server" ] || skip "json-server-auth is not installed in tests/realapps (tools/install-deps.sh)"

# start_app NAME USERS PROJECTS NOTES: a fresh server on the database $tmp/NAME/db.json whose
# next ids follow those, logging each request it serves to $tmp/NAME/requests.jsonl
# (tests/realapps/json-server/request-log.js); sets APP_URL, DB and LOG. json-server-auth writes its rewritten routes to
# the temporary directory, named after the working directory: both are NAME's own.
start_app() {
    local port dir=$tmp/$1
    mkdir -p "$dir"
    "$src/tests/realapps/json-server/seed.sh" "$2" "$3" "$4" >"$dir/db.json"
    DB=$dir/db.json
    port=$(ra_port)
    LOG=$dir/requests.jsonl
    : >"$LOG"
    ra_start "$dir/server.log" env -C "$dir" TMPDIR="$dir" REALAPP_REQUEST_LOG="$LOG" node "$server" db.json \
        -r "$src/tests/realapps/json-server/routes.json" -m "$src/tests/realapps/json-server/request-log.js" \
        --port "$port" --host 127.0.0.1 --quiet
    APP_PID=$RA_PID
    APP_URL=http://127.0.0.1:$port
    ra_wait_http "$APP_URL/projects"
}

password=pw-$$-secret
email=owner@acme.test
# api URL METHOD PATH [TOKEN] [BODY]: a JSON request as the client app sends it.
api() {
    local a=(-sS --max-time 30 -X "$2" -H 'Accept: application/json')
    [ -n "${4:-}" ] && a+=(-H "Authorization: Bearer $4")
    [ -n "${5:-}" ] && a+=(-H 'Content-Type: application/json' -d "$5")
    curl "${a[@]}" "$1$3"
}

# 1. Record: users 1-2, projects 1-2, notes 1-3 exist.
start_app record 2 2 3 || { bad "json-server-auth starts: $(tail -n3 "$tmp/record/server.log")"; echo "$pass passed, $fail failed"; exit 1; }
rec=$tmp/bearer.jsonl.gz
px_start "$tmp/px" --upstream "$APP_URL" -o "$rec" --tenant acme
P=$PX_URL
cred=$(jq -nc --arg e "$email" --arg p "$password" '{email: $e, password: $p}')
r=$(api "$P" POST /register "" "$cred")
tok1=$(jq -r .accessToken <<<"$r")
uid=$(jq -r .user.id <<<"$r")
# The sign-up token creates the project; a log-in in a later second (the JWT's iat is in
# seconds) gives another token, which the rest of the session uses: two live credentials.
r=$(api "$P" POST /projects "$tok1" "$(jq -nc --argjson u "$uid" '{name: "roadmap", userId: $u}')")
pid=$(jq -r .id <<<"$r")
t0=$(date +%s)
next_second() { [ "$(date +%s)" -gt "$t0" ]; }
wait_for 5 next_second || true
r=$(api "$P" POST /login "" "$cred")
tok=$(jq -r .accessToken <<<"$r")
api "$P" GET "/projects?userId=$uid" "$tok" >/dev/null
api "$P" GET "/projects/$pid" "$tok" >/dev/null
r1=$(api "$P" PATCH "/projects/$pid" "$tok" '{"name":"roadmap-2"}')
r=$(api "$P" POST /notes "$tok" "$(jq -nc --argjson u "$uid" --argjson p "$pid" '{text: "hello", projectId: $p, userId: $u}')")
nid=$(jq -r .id <<<"$r")
api "$P" GET "/projects/$pid/notes" "$tok" >/dev/null
r2=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $tok" "$P/notes/$nid")
px_stop INT
ra_forget "$PX_PID"
check "the proxy stops with exit 0 (exit $code)" test "$code" -eq 0
check "recording: sign-up gives a token and user 3 ($uid)" test -n "$tok1" -a "$uid" = 3
check "recording: log-in gives another token" test -n "$tok" -a "$tok" != null -a "$tok" != "$tok1"
check "recording: the new project is 3 ($pid)" test "$pid" = 3
check "recording: it is renamed ($(jq -c . <<<"$r1"))" test "$(jq -r .name <<<"$r1")" = roadmap-2
check "recording: the new note is 4 ($nid)" test "$nid" = 4
check "recording: the note is deleted ($r2)" test "$r2" = 200
check "the recording has the 9 exchanges" test "$(zcat "$rec" | tail -n +2 | grep -c .)" -eq 9
check "the recording holds no password" test "$(zcat "$rec" | grep -c -- "$password" || true)" -eq 0
check "the recording holds neither live token (in a response body or a header)" \
    test "$(zcat "$rec" | grep -c -e "$tok" -e "$tok1" || true)" -eq 0
check "the recording holds no {{secret:authorization}}: the token is the server's, a variable" \
    test "$(zcat "$rec" | grep -ci '{{secret:authorization}}' || true)" -eq 0
auth_of() { zcat "$rec" | tail -n +2 | sed -n "$1p" | jq -r '.request.headers[] | select(.[0] | ascii_downcase == "authorization") | .[1]'; }
check "the Authorization headers are a named variable ({{var:…}})" \
    test "$(for s in 2 4 5 6 7 8 9; do auth_of "$s"; done | grep -cv '^Bearer {{var:[^}]*}}$' || true)" -eq 0
check "... two distinct ones: the sign-up token's in #2, the log-in token's in #4-#9 ($(auth_of 2) / $(auth_of 4))" \
    test "$(auth_of 2)" != "$(auth_of 4)" -a "$(for s in 4 5 6 7 8 9; do auth_of "$s"; done | sort -u | wc -l)" -eq 1
ra_stop "$APP_PID"

echo "--- reprise show --correlations"
"$REPRISE" show --correlations "$rec" >"$tmp/corr.out" 2>&1 || true
sed 's/^/    /' "$tmp/corr.out"
# Exchanges: 1 register (token 1, user 3), 2 create project 3 with token 1 (body userId 3),
# 3 login (token 2), 4 list ?userId=3, 5 GET /projects/3, 6 PATCH /projects/3, 7 create note 4
# (projectId 3, userId 3), 8 GET /projects/3/notes, 9 DELETE /notes/4, all with token 2.
corr_to() { ra_corr_to "$tmp/corr.out" "$@"; }
# The tokens are record-time variables, listed after the correlations: each born where the
# server issued it, each used exactly in the Authorization headers that sent it back.
v1=$(ra_var_uses "$tmp/corr.out" 1 'body $.accessToken' 'header Authorization' 2) || v1=
v2=$(ra_var_uses "$tmp/corr.out" 3 'body $.accessToken' 'header Authorization' 4 5 6 7 8 9) || v2=
check "show --correlations: the sign-up token is a variable (${v1:-none}) born at #1 body \$.accessToken, used in the Authorization of #2 only" \
    test -n "$v1"
check "show --correlations: the log-in token is a variable (${v2:-none}) born at #3 body \$.accessToken, used in the Authorization of #4-#9 only" \
    test -n "$v2"
check "show --correlations: ... two distinct variables, the only two ($(ra_vars "$tmp/corr.out" | cut -f1 | paste -sd, -))" \
    test -n "$v1" -a -n "$v2" -a "$v1" != "$v2" -a "$(ra_vars "$tmp/corr.out" | wc -l)" -eq 2
check "show --correlations: no correlation row carries a token (they are variables)" \
    test "$(sed -n '/^ *VARIABLE /q; p' "$tmp/corr.out" | grep -ci 'authorization' || true)" -eq 0
corr_u() { corr_to 2 3 && corr_to 4 3 && corr_to 7 3; }
check "show --correlations: the user id 3 is carried into #2's body, #4's query, #7's body" corr_u
corr_p() { corr_to 5 3 && corr_to 6 3 && corr_to 7 3 && corr_to 8 3; }
# (3 is both the user's and the project's id here: a row for value 3 into #7 may be either.)
check "show --correlations: the project id 3 is carried into #5, #6, #7, #8" corr_p
check "show --correlations: the note id 4 is carried into #9's path" corr_to 9 4

# 2. Replay twice on a database with users 1-10, projects 1-10 and notes 1-20.
start_app replay 10 10 20 || { bad "json-server-auth starts for the replay"; echo "$pass passed, $fail failed"; exit 1; }
seeded=$(jq -c '{users: [.users[] | {id, email}], projects, notes}' "$DB")
export REPRISE_SECRET_PASSWORD=$password
sent_body() { zcat 2>/dev/null "$tmp/replay$1.results.jsonl.gz" | tail -n +2 | sed -n "$2p" | jq -c '.request.body | fromjson' 2>/dev/null || true; }
# jwt_claims TOKEN: the JSON payload of a JWT (base64url, unpadded).
jwt_claims() {
    local p=${1#Bearer }
    p=${p#*.}
    p=${p%%.*}
    p=$(tr '_-' '/+' <<<"$p")
    while [ $((${#p} % 4)) -ne 0 ]; do p+="="; done
    base64 -d <<<"$p" 2>/dev/null || true
}
live() { zcat 2>/dev/null "$tmp/replay$1.results.jsonl.gz" | tail -n +2 | sed -n "$2p" | jq -r ".response.body | fromjson | $3" 2>/dev/null || true; }
for run in 1 2; do
    log0=$(wc -l <"$LOG")
    ra_replay "$tmp/replay$run" "$rec" "$APP_URL"
    echo "--- what replay $run sent"
    ra_sent "$tmp/replay$run" | sed 's/^/    /'
    check "replay $run: exit 0 (exit $code)" test "$code" -eq 0
    check "replay $run: a fresh tenant ($RA_TENANT)" test -n "$RA_TENANT" -a "$RA_TENANT" != acme
    lu=$(live "$run" 1 .user.id)
    lp=$(live "$run" 2 .id)
    ln=$(live "$run" 7 .id)
    echo "    live ids of replay $run: user ${lu:-none}, project ${lp:-none}, note ${ln:-none}"
    # What reprise sent: the results file keeps each request as sent (placeholders for
    # credentials); which token the server got is in its own request log, below.
    check "replay $run: #2 creates the project for the live user ${lu:-?} (sent $(sent_body "$run" 2))" \
        test "$(sent_body "$run" 2 | jq -r .userId 2>/dev/null)" = "${lu:-x}"
    check "replay $run: #6 renames the live project (sent $(ra_sent_url "$tmp/replay$run" 6))" \
        test "$(ra_sent_url "$tmp/replay$run" 6)" = "$APP_URL/projects/${lp:-x}"
    check "replay $run: #7 adds the note to the live project and user (sent $(sent_body "$run" 7))" \
        test "$(sent_body "$run" 7 | jq -r '"\(.projectId) \(.userId)"' 2>/dev/null)" = "${lp:-x} ${lu:-x}"
    check "replay $run: #9 deletes the live note (sent $(ra_sent_url "$tmp/replay$run" 9))" \
        test "$(ra_sent_url "$tmp/replay$run" 9)" = "$APP_URL/notes/${ln:-x}"
    # The server's own database.
    users=$(jq -r --arg t "${RA_TENANT:-no tenant line}" '[.users[] | select(.email | contains($t)) | .id] | join(",")' "$DB")
    check "replay $run: the server has one user of the tenant, new (ids: ${users:-none})" \
        test -n "$users" -a "${users//[0-9]/}" = "" -a "${users:-0}" -ge 11
    [ "${users//[0-9]/}" = "" ] || users=0
    mine=$(jq -c --argjson u "${users:-0}" '[.projects[] | select(.userId == $u)]' "$DB" 2>/dev/null || echo '[]')
    check "replay $run: the tenant's user owns one project, new, renamed roadmap-2 ($mine)" \
        test "$(jq -r 'if length == 1 and .[0].id >= 11 then .[0].name else "" end' <<<"$mine")" = roadmap-2
    notes=$(jq -c --argjson u "${users:-0}" '[.notes[] | select(.userId == $u)]' "$DB" 2>/dev/null || echo '[]')
    check "replay $run: the tenant's note was deleted, none left ($notes)" test -n "$users" -a "$notes" = "[]"
    # Whose token the server received: its own request log, each JWT's claims.
    seen=$(tail -n +$((log0 + 1)) "$LOG" | jq -r 'select(.authorization != null) | .authorization' |
        while read -r a; do jwt_claims "$a" | jq -r .sub; done | sort -u | paste -sd, -)
    check "replay $run: every token the server received is the tenant's new user's ${users:-?} (subjects: ${seen:-none})" \
        test -n "$seen" -a "$seen" = "${users:-x}"
    n=$(tail -n +$((log0 + 1)) "$LOG" | jq -r 'select(.authorization != null) | .url' | wc -l)
    check "replay $run: the server received a token on the 7 requests that carry one ($n)" test "$n" -eq 7
    now=$(jq -c '{users: [.users[] | select(.id <= 10) | {id, email}], projects: [.projects[] | select(.id <= 10)], notes: [.notes[] | select(.id <= 20)]}' "$DB")
    diffs=$(jq -nc --argjson a "$seeded" --argjson b "$now" '[("users", "projects", "notes") as $k | $a[$k][] | select(. as $x | $b[$k] | index([$x]) | not) | "\($k) \(.id)"]')
    check "replay $run: the seeded users 1-10, projects 1-10, notes 1-20 are there, unchanged (changed or gone: $diffs)" \
        test "$diffs" = "[]"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
