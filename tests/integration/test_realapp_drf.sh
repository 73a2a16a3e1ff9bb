#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real third-party application: Django REST framework (python3-djangorestframework from
# Debian) on the project of tests/realapps/django, served by gunicorn. DRF's token view
# issues a token at log-in, and every later request sends it back in a custom header,
# X-Api-Token (DRF's TokenAuthentication, reading that header: tracker/auth.py). Objects
# carry their "url", which the client follows; a project's board is a map keyed by thing ids
# ("things_by_id": {"4": …}). A session is recorded through `reprise record`: log in, create a
# project (the tenant), read it by its url, add a thing to it, read the board, rename the
# thing by its url, delete it, read the board again. Recorded where the new project is 3 and
# the thing 4; replayed twice where they are 11 and 21 (then 12, 22) and where project 3 and
# thing 4 belong to someone else. After each replay the server's database (its tables and the
# Audit table, a row per save of a thing) says what happened.
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

need curl jq sqlite3 zcat
/usr/bin/python3 -c 'import django, gunicorn, rest_framework' 2>/dev/null ||
    skip "python3-django, python3-gunicorn or python3-djangorestframework is not installed (tools/install-deps.sh)"

password=admin-pass-$$
ra_django_prepare ||
    { bad "manage.py migrate makes the database"; echo "$pass passed, $fail failed"; exit 1; }
q() { sqlite3 "$tmp/$db.sqlite3" "$1"; }

# api URL METHOD PATH TOKEN [JSON]: a request as the client app sends it.
api() {
    local a=(-sS --max-time 30 -X "$2" -H 'Accept: application/json' -H "X-Api-Token: $4")
    [ -n "${5:-}" ] && a+=(-H 'Content-Type: application/json' -d "$5")
    curl "${a[@]}" "$1$3"
}
# path_of URL: the path of an absolute URL (the client follows "url" through its own origin).
path_of() { sed -E 's#^https?://[^/]*##' <<<"$1"; }

# 1. Record on a database with projects 1-2 and things 1-3.
db=record
ra_django_db record 2 3 "$password"
ra_django_start record || { bad "gunicorn serves the API: $(tail -n3 "$tmp/record.gunicorn.log")"; echo "$pass passed, $fail failed"; exit 1; }
rec=$tmp/drf.jsonl.gz
px_start "$tmp/px" --upstream "$APP_URL" -o "$rec" --tenant acme
P=$PX_URL
tok=$(curl -sS --max-time 30 -H 'Accept: application/json' -d username=admin --data-urlencode "password=$password" \
    "$P/api/token/" | jq -r .token)
r=$(api "$P" POST /api/projects/ "$tok" '{"name":"acme"}')
pid=$(jq -r .id <<<"$r")
purl=$(path_of "$(jq -r .url <<<"$r")")
api "$P" GET "$purl" "$tok" >/dev/null
r=$(api "$P" POST /api/things/ "$tok" "$(jq -nc --argjson p "$pid" '{name: "widget", project: $p}')")
tid=$(jq -r .id <<<"$r")
turl=$(path_of "$(jq -r .url <<<"$r")")
board=$(api "$P" GET "${purl}board/" "$tok")
r1=$(api "$P" PATCH "$turl" "$tok" '{"name":"widget-2"}')
r2=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X DELETE -H "X-Api-Token: $tok" "$P$turl")
api "$P" GET "${purl}board/" "$tok" >/dev/null
px_stop INT
ra_forget "$PX_PID"
check "the proxy stops with exit 0 (exit $code)" test "$code" -eq 0
check "recording: log-in gives a token" test -n "$tok" -a "$tok" != null
check "recording: the new project is 3 ($pid, $purl)" test "$pid $purl" = "3 /api/projects/3/"
check "recording: the new thing is 4 ($tid, $turl)" test "$tid $turl" = "4 /api/things/4/"
check "recording: the board is a map keyed by thing id ($board)" test "$(jq -c '.things_by_id | keys' <<<"$board")" = '["4"]'
check "recording: the thing is renamed ($r1)" test "$(jq -r .name <<<"$r1")" = widget-2
check "recording: the thing is deleted ($r2)" test "$r2" = 204
check "recording: the server saved thing 4 twice in project 3" test "$(q 'select group_concat(thing_id||":"||project_id) from tracker_audit')" = "4:3,4:3"
check "the recording has the 8 exchanges" test "$(zcat "$rec" | tail -n +2 | grep -c .)" -eq 8
check "the recording holds no password" test "$(zcat "$rec" | grep -c -- "$password" || true)" -eq 0
check "the recording holds no live token (in a response body or a header)" test "$(zcat "$rec" | grep -c -- "$tok" || true)" -eq 0
check "the X-Api-Token headers are a named variable ({{var:…}}), not a secret" \
    test "$(zcat "$rec" | tail -n +2 | jq -r '.request.headers[] | select(.[0] | ascii_downcase == "x-api-token") | .[1]' | grep -cv '^{{var:[^}]*}}$' || true)" -eq 0
ra_stop "$APP_PID"

echo "--- reprise show --correlations"
"$REPRISE" show --correlations "$rec" >"$tmp/corr.out" 2>&1 || true
sed 's/^/    /' "$tmp/corr.out"
# Exchanges: 1 token, 2 create project 3 ("url" .../projects/3/), 3 GET /api/projects/3/,
# 4 create thing 4 (body project 3), 5 board of 3 (map keyed "4"), 6 PATCH /api/things/4/,
# 7 DELETE /api/things/4/, 8 board of 3. Requests 2-8 carry the token in X-Api-Token.
corr_to() { ra_corr_to "$tmp/corr.out" "$@"; }
# The token is a record-time variable, listed after the correlations: born in #1's answer,
# used exactly in the X-Api-Token header of #2-#8.
v=$(ra_var_uses "$tmp/corr.out" 1 'body $.token' 'header X-Api-Token' 2 3 4 5 6 7 8) || v=
check "show --correlations: the token is a variable (${v:-none}) born at #1 body \$.token, used in the X-Api-Token header of #2-#8 only" \
    test -n "$v"
check "show --correlations: ... the only variable ($(ra_vars "$tmp/corr.out" | cut -f1 | paste -sd, -))" \
    test "$(ra_vars "$tmp/corr.out" | wc -l)" -eq 1
check "show --correlations: no correlation row carries the token (it is a variable)" \
    test "$(sed -n '/^ *VARIABLE /q; p' "$tmp/corr.out" | grep -ci 'x-api-token' || true)" -eq 0
# (#4 sends DRF's related-field form, "project": 3: a field named after the resource, not *_id.)
corr_p() { corr_to 3 3 && corr_to 4 3 && corr_to 5 3 && corr_to 8 3; }
check "show --correlations: the project id 3 is carried into #3, #4, #5, #8" corr_p
corr_t() { corr_to 6 4 && corr_to 7 4; }
check "show --correlations: the thing id 4 is carried into #6 and #7" corr_t

# 2. Replay twice on a database with projects 1-10 and things 1-20.
db=replay
ra_django_db replay 10 20 "$password"
ra_django_start replay || { bad "gunicorn serves the replay database"; echo "$pass passed, $fail failed"; exit 1; }
seeded_things=$(q "select group_concat(id||':'||project_id||':'||name, ',') from (select * from tracker_thing order by id)")
seeded_projects=$(q "select group_concat(id||':'||name, ',') from (select * from tracker_project order by id)")
export REPRISE_SECRET_PASSWORD=$password
res() { zcat 2>/dev/null "$tmp/replay$1.results.jsonl.gz" | tail -n +2 | sed -n "$2p"; }
for run in 1 2; do
    aud0=$(q 'select coalesce(max(id),0) from tracker_audit')
    acc0=$(wc -l <"$tmp/replay.access.log")
    ra_replay "$tmp/replay$run" "$rec" "$APP_URL"
    echo "--- what replay $run sent"
    ra_sent "$tmp/replay$run" | sed 's/^/    /'
    check "replay $run: exit 0 (exit $code)" test "$code" -eq 0
    check "replay $run: a fresh tenant ($RA_TENANT)" test -n "$RA_TENANT" -a "$RA_TENANT" != acme
    ltok=$(q "select key from authtoken_token t join auth_user u on u.id=t.user_id where u.username='admin'")
    lp=$(res "$run" 2 | jq -r '.response.body | fromjson | .id' 2>/dev/null || true)
    lt=$(res "$run" 4 | jq -r '.response.body | fromjson | .id' 2>/dev/null || true)
    echo "    live: project ${lp:-none}, thing ${lt:-none}"
    # Which token the server received: its access log, a line per request after the log-in.
    seen=$(tail -n +$((acc0 + 1)) "$tmp/replay.access.log" | awk '$2 != "/api/token/" { print $4 }' | sort -u | paste -sd, -)
    n=$(tail -n +$((acc0 + 1)) "$tmp/replay.access.log" | awk '$2 != "/api/token/"' | wc -l)
    check "replay $run: the server received in X-Api-Token only the token it issued (${ltok:0:8}…; got ${seen:0:60})" \
        test -n "$ltok" -a "$seen" = "$ltok"
    check "replay $run: ... on the 7 requests after the log-in ($n)" test "$n" -eq 7
    # What reprise sent (the results file keeps each request as sent).
    check "replay $run: #3 reads the live project by its url (sent $(ra_sent_url "$tmp/replay$run" 3))" \
        test "$(ra_sent_url "$tmp/replay$run" 3)" = "$APP_URL/api/projects/${lp:-x}/"
    v=$(res "$run" 4 | jq -r '.request.body | fromjson | .project' 2>/dev/null || true)
    check "replay $run: #4 adds the thing to the live project ${lp:-?} (sent project $v)" test "$v" = "${lp:-x}"
    check "replay $run: #6 renames the live thing by its url (sent $(ra_sent_url "$tmp/replay$run" 6))" \
        test "$(ra_sent_url "$tmp/replay$run" 6)" = "$APP_URL/api/things/${lt:-x}/"
    check "replay $run: #7 deletes the live thing (sent $(ra_sent_url "$tmp/replay$run" 7))" \
        test "$(ra_sent_url "$tmp/replay$run" 7)" = "$APP_URL/api/things/${lt:-x}/"
    o=$(res "$run" 5 | jq -r '.check.outcome // "none"' 2>/dev/null || true)
    check "replay $run: #5's board, a map keyed by other ids than recorded, passes its check ($o: $(res "$run" 5 | jq -c '.check.mismatches // .check' 2>/dev/null | head -c 200))" \
        test "$o" = pass
    # The server's database.
    lpn=$(q "select group_concat(id) from tracker_project where name='${RA_TENANT:-no tenant line}'")
    check "replay $run: the server has one project named $RA_TENANT, a new one (ids: ${lpn:-none})" \
        test -n "$lpn" -a "${lpn//[0-9]/}" = "" -a "${lpn:-0}" -ge 11
    saves=$(q "select group_concat(thing_id||':'||project_id) from tracker_audit where id>$aud0")
    check "replay $run: the thing was saved twice, new, in the tenant's project ${lpn:-?} (saves thing:project ${saves:-none})" \
        test -n "$saves" -a "$saves" = "${lt:-x}:${lpn:-x},${lt:-x}:${lpn:-x}" -a "${lt:-0}" -ge 21
    check "replay $run: thing 4 (someone else's) was never saved, nothing put in project 3 (saves ${saves:-none})" \
        test "$(q "select count(*) from tracker_audit where id>$aud0 and (thing_id=4 or project_id=3)")" -eq 0
    now=$(q "select group_concat(id) from tracker_thing where id<=20")
    check "replay $run: the seeded things 1-20 are all there, unchanged (there now: $now)" \
        test "$(q "select group_concat(id||':'||project_id||':'||name, ',') from (select * from tracker_thing where id<=20 order by id)")" = "$seeded_things"
    check "replay $run: the seeded projects are all there, unchanged" \
        test "$(q "select group_concat(id||':'||name, ',') from (select * from tracker_project where id<=10 order by id)")" = "$seeded_projects"
    check "replay $run: the replay's own thing is gone (${lt:-none})" \
        test -n "$lt" -a "$(q "select count(*) from tracker_thing where id='${lt:-x}'")" = 0
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
