#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo's "real application" modes (issue 10, item 9), recorded and replayed as a user would,
# checked by the SERVER's own state (GET /__state), never by an exit code alone:
#
#   app     the new endpoints on their own, without reprise: tokens, rotation, the admin's
#           forms, GraphQL, the id-keyed board, --first-id and the state dump
#   admin   a server-rendered admin: ids only in links and form actions, a multipart change
#           form with a hidden CSRF field, a pre-filled <select name="project">
#   graphql createOrder -> order(id: "3") inline and via $id -> payOrder(id: $id), batched
#   bearer  log in -> Bearer API -> refresh (rotation) -> X-Auth-Token, no live token recorded
#   board   a response keyed by random ids (columnsById) must not fail every replay
#   unsourced  a write to an id no response gave (a URL typed by the user) is refused at replay
#
# Each recording is made through `reprise record` against a demo started with --first-id 3,
# so its new objects are 3 and 4. Each replay runs against a demo where another tenant (the
# victim) holds objects 1..10, so the replay's objects are 11, 12 and, after the victim adds
# more, 21, 22 on the second run (each run its own fresh tenant). After each replay the state
# dump must show that the replay's objects were created in the replay's tenant, were the ones
# acted on, and that the victim's objects 3 and 4 were left as they were.
#
#   test_demo_modes.sh DEMO [app|admin|graphql|bearer|board|unsourced]   one part, or all
# ctest-parts: app admin graphql bearer board unsourced
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in app|admin|graphql|bearer|board|unsourced|all) ;; *) echo "$0: no part '$part'" >&2; exit 2 ;; esac
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/proxy.sh"
need curl jq
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

password=correct-horse-battery-staple
export REPRISE_SECRET_PASSWORD=$password
jar=$tmp/jar
c() { curl -sS --max-time 60 -b "$jar" -c "$jar" "$@"; }
json() { c -H 'Content-Type: application/json' "$@"; }
state() { demo_state "$1"; }
signup() { # URL TENANT
    json -o /dev/null -w '%{http_code}' -d "{\"tenant\":\"$2\",\"email\":\"owner@$2.test\",\"password\":\"$password\"}" "$1/api/signup"
}
# The value of the hidden CSRF field and the selected project of an admin page.
csrf_of() { sed -n 's/.*name="csrfmiddlewaretoken" value="\([0-9a-f]*\)".*/\1/p' "$1" | head -n1; }
selected_of() { grep -o '<option value="[0-9]*" selected' "$1" | grep -o '[0-9][0-9]*' | head -n1; }

# Runs reprise; stdout, stderr and the exit code in $tmp/out, $tmp/err and $code.
run() { code=0; timeout 300 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?; }
# The fresh tenant a replay used (from its "tenant acme -> acme-xxxxxxxx-1" line), or "".
replay_tenant() { sed -nE 's/.*tenant acme -> (acme-[a-z0-9]+-[0-9]+)$/\1/p' "$tmp/err" | head -n1; }
# The seq of the Nth exchange (1-based) whose method is M and whose URL path matches regex R.
seq_of() { # FILE M R [N]
    zcat "$1" | tail -n +2 | jq -r --arg m "$2" --arg r "$3" \
        'select(.request.method==$m and (.request.url|test($r))) | .seq' | sed -n "${4:-1}p"
}
# Whether `show --correlations` lists a pair into exchange TO whose line also matches REGEX.
corr_into() { # TO REGEX
    awk -v to="$1" '$2 == to' "$tmp/corr" | grep -qE "$2"
}

# Records a session: starts a demo with --first-id 3 and the proxy in front of it; sets P
# (where to send requests) and REC. rec_stop ends both.
rec_start() { # NAME
    REC=$tmp/$1.jsonl.gz
    rm -f "$jar"
    demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); REC_DEMO=$DEMO_URL REC_DEMO_PID=$DEMO_PID
    px_start "$tmp/px-$1" --upstream "$REC_DEMO" -o "$REC" --tenant acme
    P=$PX_URL
}
rec_stop() {
    px_stop INT
    check "the recording proxy stopped cleanly (exit $code)" test "$code" -eq 0
    kill "$REC_DEMO_PID" 2>/dev/null || true; wait "$REC_DEMO_PID" 2>/dev/null || true
}

# Starts the replay target (ids from 1) and has the victim tenant fill ids up to 10 by calling
# victim_fill (defined per part) until next_id is 11. Sets T_URL.
target_start() {
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); T_URL=$DEMO_URL
    rm -f "$jar"
    test "$(signup "$T_URL" victim)" = 201 || bad "the victim tenant signs up"
    victim_login
    victim_fill_to 11
}
victim_fill_to() { # N: the victim creates objects until the next id is N
    local next i
    next=$(state "$T_URL" | jq '.next_id')
    for ((i = next; i < $1; i++)); do victim_create "victim-$i"; done
    check "the victim holds the ids below $1 (next id $(state "$T_URL" | jq '.next_id'))" \
        test "$(state "$T_URL" | jq '.next_id')" -eq "$1"
}
# Replays $REC on the target; sets T (the fresh tenant) and keeps the state in $tmp/state.json.
replay_once() { # RUN
    run replay "$REC" --target "$T_URL" --no-color
    T=$(replay_tenant)
    check "run $1: replay exits 0 (exit $code; $( (grep -h -E 'FAIL|ERROR|UNSAFE|SKIPPED|^reprise: .*(secret|not|error)' "$tmp/out" "$tmp/err" || true) | head -n1 | tr -s ' ' | cut -c1-200))" test "$code" -eq 0
    check "run $1: the replay used a fresh tenant ($T)" test -n "$T"
    state "$T_URL" >"$tmp/state.json"
}
# jq on the last state dump.
sq() { jq -r "$@" "$tmp/state.json"; }
# The ids of tenant T's objects of a kind, ascending, space-separated.
ids_of() { sq --arg t "$1" --arg k "$2" '[.objects[] | select(.tenant==$t and .kind==$k) | .id] | map(tostring) | join(" ")'; }
# Audit entries by tenant T on objects that are not T's: a wrong-object write.
foreign_writes() {
    sq --arg t "$1" '. as $s | [.audit[] | select(.tenant==$t) | .id as $id
        | select(($s.objects[] | select(.id==$id) | .tenant) != $t)] | map("\(.op) \(.kind) \(.id)") | join(", ")'
}
# These hold only when the replay ran (a fresh tenant was used): a replay that sent nothing
# wrote to nobody, which proves nothing.
no_foreign_writes() { [ -n "$T" ] && [ -z "$(foreign_writes "$T")" ]; }
victim_untouched() { # RUN KIND IDS...
    local run=$1 kind=$2 id; shift 2
    for id in "$@"; do
        check "run $run: the replay ran and its tenant '$T' did not write to the victim's $kind $id ($(sq --argjson i "$id" '.objects[] | select(.id==$i) | tostring'))" \
            bash -c "test -n '$T' && test \"\$(jq --argjson i $id --arg t '$T' '[.audit[] | select(.id==\$i and .tenant==\$t)] | length' '$tmp/state.json')\" -eq 0"
    done
}

# ================================================================================================
if [ "$part" = app ] || [ "$part" = all ]; then
    demo_start "$DEMO_BIN" --first-id 7; pids+=("$DEMO_PID"); U=$DEMO_URL
    check "app: --first-id 7 gives next_id 7" test "$(state "$U" | jq '.next_id')" -eq 7
    code=0; "$DEMO_BIN" --first-id 0 >/dev/null 2>"$tmp/err" || code=$?
    check "app: --first-id 0 is a usage error (exit $code)" test "$code" -eq 2
    check "app: sign-up" test "$(signup "$U" acme)" = 201
    check "app: sign-up of beta" test "$(signup "$U" beta)" = 201

    # Bearer tokens: random per log-in, rotation kills the old pair, X-Auth-Token works too.
    v2=$U/api/v2/t/acme
    l1=$(json -d "{\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$v2/login")
    l2=$(json -d "{\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$v2/login")
    a1=$(jq -r .access_token <<<"$l1") r1=$(jq -r .refresh_token <<<"$l1") a2=$(jq -r .access_token <<<"$l2")
    check "app: log-in gives a 40-hex access and refresh token" bash -c "[[ '$a1' =~ ^[0-9a-f]{40}$ && '$r1' =~ ^[0-9a-f]{40}$ ]]"
    check "app: two log-ins give two different tokens" test "$a1" != "$a2"
    check "app: expires_in and token_type" test "$(jq -r '"\(.token_type) \(.expires_in)"' <<<"$l1")" = "Bearer 900"
    code=$(c -o /dev/null -w '%{http_code}' -d '{"email":"owner@acme.test","password":"nope"}' "$v2/login")
    check "app: a wrong password is 401 ($code)" test "$code" = 401
    check "app: GET me with Bearer" test "$(c -H "Authorization: Bearer $a1" "$v2/me" | jq -r .tenant)" = acme
    check "app: GET me with X-Auth-Token" test "$(c -H "X-Auth-Token: $a1" "$v2/me" | jq -r .tenant)" = acme
    code=$(c -o /dev/null -w '%{http_code}' "$v2/me")
    check "app: GET me without a token is 401 ($code)" test "$code" = 401
    code=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $a1" "$U/api/v2/t/beta/me")
    check "app: acme's token on beta is 404 ($code)" test "$code" = 404
    l3=$(json -d "{\"refresh_token\":\"$r1\"}" "$v2/refresh")
    a3=$(jq -r .access_token <<<"$l3") r3=$(jq -r .refresh_token <<<"$l3")
    check "app: refresh gives a new pair" bash -c "[[ '$a3' =~ ^[0-9a-f]{40}$ && '$a3' != '$a1' && '$r3' != '$r1' ]]"
    code=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $a1" "$v2/me")
    check "app: the old access token stops working (rotation: $code)" test "$code" = 401
    code=$(json -o /dev/null -w '%{http_code}' -d "{\"refresh_token\":\"$r1\"}" "$v2/refresh")
    check "app: the old refresh token stops working ($code)" test "$code" = 401
    check "app: the new access token works" test "$(c -H "Authorization: Bearer $a3" "$v2/me" | jq -r .tenant)" = acme
    check "app: the other log-in's token still works" test "$(c -H "Authorization: Bearer $a2" "$v2/me" | jq -r .tenant)" = acme
    n=$(json -H "Authorization: Bearer $a3" -d '{"title":"first"}' "$v2/notes")
    check "app: a note gets id 7 ($n)" test "$(jq .id <<<"$n")" = 7
    check "app: PATCH renames it" test "$(json -X PATCH -H "Authorization: Bearer $a3" -d '{"title":"second"}' "$v2/notes/7" | jq -r .title)" = second
    check "app: the notes list" test "$(c -H "Authorization: Bearer $a3" "$v2/notes" | jq -c '[.notes[].id]')" = "[7]"
    b=$(c -H "X-Auth-Token: $a3" "$v2/board")
    check "app: the board's columns are keyed by random ids" test "$(jq -r '[.columns[].id] == (.columnsById|keys_unsorted) and all(.columns[].id; test("^c[a-z0-9]{14}$"))' <<<"$b")" = true
    check "app: the board holds the note" test "$(jq -c '.columns[0].noteIds' <<<"$b")" = "[7]"
    bt=$(json -d "{\"email\":\"owner@beta.test\",\"password\":\"$password\"}" "$U/api/v2/t/beta/login" | jq -r .access_token)
    b2=$(c -H "X-Auth-Token: $bt" "$U/api/v2/t/beta/board")
    check "app: another tenant's board has other ids" test "$(jq -r '.columns[0].id' <<<"$b2")" != "$(jq -r '.columns[0].id' <<<"$b")"
    code=$(c -o /dev/null -w '%{http_code}' -X DELETE -H "X-Auth-Token: $a3" "$v2/notes/7")
    check "app: DELETE with X-Auth-Token is 204 ($code)" test "$code" = 204

    # The admin: log-in form, add (303 to the list), the list's link, multipart change, delete.
    rm -f "$jar"
    code=$(c -o /dev/null -w '%{http_code} %{redirect_url}' "$U/t/acme/admin/things/")
    check "app: the admin without a session redirects to its log-in ($code)" test "$code" = "302 $U/t/acme/admin/login/"
    code=$(c -o /dev/null -w '%{http_code} %{redirect_url}' --data-urlencode email=owner@acme.test --data-urlencode "password=$password" "$U/t/acme/admin/login/")
    check "app: the admin log-in form redirects to the list ($code)" test "$code" = "303 $U/t/acme/admin/things/"
    c -o "$tmp/add.html" "$U/t/acme/admin/things/add/"
    csrf=$(csrf_of "$tmp/add.html") proj=$(selected_of "$tmp/add.html")
    check "app: the add form has a CSRF field" test -n "$csrf"
    check "app: the add form pre-selects the tenant's current project" test "$proj" = "$(state "$U" | jq '[.projects[] | select(.tenant=="acme" and .current)][0].id')"
    code=$(c -o /dev/null -w '%{http_code} %{redirect_url}' --data-urlencode "csrfmiddlewaretoken=$csrf" --data-urlencode 'name=Widget & co' -d "project=$proj" "$U/t/acme/admin/things/add/")
    check "app: adding redirects 303 to the list, not to the thing ($code)" test "$code" = "303 $U/t/acme/admin/things/"
    c -o "$tmp/list.html" "$U/t/acme/admin/things/"
    check "app: the list links the new thing 8" grep -q 'href="/t/acme/admin/things/8/change/">Widget &amp; co<' "$tmp/list.html"
    c -o "$tmp/change.html" "$U/t/acme/admin/things/8/change/"
    check "app: the change form posts multipart to the thing's URL" grep -q 'action="/t/acme/admin/things/8/change/" enctype="multipart/form-data"' "$tmp/change.html"
    code=$(c -o /dev/null -w '%{http_code}' -F csrfmiddlewaretoken=0000 -F name=x -F "project=$proj" "$U/t/acme/admin/things/8/change/")
    check "app: a wrong CSRF field is 403 ($code)" test "$code" = 403
    code=$(c -o /dev/null -w '%{http_code}' -F "csrfmiddlewaretoken=$csrf" -F name=Gadget -F "project=$proj" "$U/t/acme/admin/things/8/change/")
    check "app: the multipart change is 303 ($code)" test "$code" = 303
    check "app: the thing is renamed" test "$(state "$U" | jq -r '.objects[] | select(.id==8) | .name')" = Gadget
    # Deliberately unsafe: beta's admin renames acme's thing 8 and it works.
    rm -f "$jar"
    c -o /dev/null --data-urlencode email=owner@beta.test --data-urlencode "password=$password" "$U/t/beta/admin/login/"
    c -o "$tmp/b.html" "$U/t/beta/admin/things/add/"
    bcsrf=$(csrf_of "$tmp/b.html") bproj=$(selected_of "$tmp/b.html")
    check "app: beta's current project is not acme's" test "$bproj" != "$proj"
    code=$(c -o /dev/null -w '%{http_code}' -F "csrfmiddlewaretoken=$bcsrf" -F name=Stolen -F "project=$bproj" "$U/t/beta/admin/things/8/change/")
    check "app: a write to another tenant's thing succeeds, as in a buggy app ($code)" test "$code" = 303
    state "$U" >"$tmp/state.json"
    check "app: the state shows the wrong-object write" test "$(sq '.objects[] | select(.id==8) | "\(.tenant) \(.name)"')" = "acme Stolen"
    check "app: the audit log names who wrote" test "$(sq '[.audit[] | select(.id==8) | "\(.tenant):\(.op)"] | join(",")')" = "acme:create,acme:update,beta:update"
    check "app: the foreign-write query sees it" test "$(foreign_writes beta)" = "update thing 8"
    code=$(c -o /dev/null -w '%{http_code}' -d "csrfmiddlewaretoken=$bcsrf&post=yes" "$U/t/beta/admin/things/8/delete/")
    check "app: delete is 303 ($code)" test "$code" = 303
    check "app: the thing is deleted" test "$(state "$U" | jq '.objects[] | select(.id==8) | .deleted')" = true

    # GraphQL.
    rm -f "$jar"
    csrf=$(json -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$U/api/login" | jq -r .csrf_token)
    gq() { json -H "X-CSRF-Token: $csrf" -d "$1" "$U/t/acme/graphql"; }
    r=$(gq '{"query":"mutation { createOrder(input: {product: \"Espresso\", quantity: 2}) { id status product quantity } }"}')
    check "app: createOrder ($r)" test "$r" = '{"data":{"createOrder":{"id":"9","status":"PENDING","product":"Espresso","quantity":2}}}'
    r=$(gq '{"query":"query Get($id: ID!) { order(id: $id) { id status } }","variables":{"id":"9"},"operationName":"Get"}')
    check "app: order(id: \$id) ($r)" test "$r" = '{"data":{"order":{"id":"9","status":"PENDING"}}}'
    r=$(gq '{"query":"{ a: order(id: \"9\") { id } b: order(id: 9) { __typename } }"}')
    check "app: inline ids, aliases ($r)" test "$r" = '{"data":{"a":{"id":"9"},"b":{"__typename":"Order"}}}'
    r=$(gq '[{"query":"mutation P($id: ID!) { payOrder(id: $id) { id status } }","variables":{"id":"9"}},{"query":"{ orders { id status } }"}]')
    check "app: a batch: pay, list ($r)" test "$r" = '[{"data":{"payOrder":{"id":"9","status":"PAID"}}},{"data":{"orders":[{"id":"9","status":"PAID"}]}}]'
    r=$(gq '{"query":"mutation { payOrder(id: \"9\") { id } }"}')
    check "app: paying twice is a GraphQL error ($r)" test "$(jq -r '.errors[0].message' <<<"$r")" = "order 9 is already paid"
    r=$(gq '{"query":"{ order(id: \"9\") { ...F } }"}')
    check "app: a syntax error ($r)" bash -c "jq -e '(.errors[0].message|startswith(\"Syntax Error\")) and (has(\"data\")|not)' <<<'$r' >/dev/null"
    r=$(gq '{"query":"query A { orders { id } } query B { orders { id } }"}')
    check "app: several operations need operationName ($r)" test "$(jq -r '.errors[0].message' <<<"$r")" = "Must provide operation name if query contains multiple operations"
    check "app: the board with the session cookie" test "$(c "$U/t/acme/api/board" | jq -r '.columns[0].id')" = "$(jq -r '.columns[0].id' <<<"$b")"
    code=$(json -o /dev/null -w '%{http_code}' -d '{"query":"{ orders { id } }"}' "$U/t/acme/graphql")
    check "app: GraphQL without X-CSRF-Token is 403 ($code)" test "$code" = 403
    demo_stop
fi

# ================================================================================================
if [ "$part" = admin ] || [ "$part" = all ]; then
    admin_login() { # URL TENANT
        c -o /dev/null --data-urlencode "email=owner@$2.test" --data-urlencode "password=$password" -L "$1/t/$2/admin/login/"
    }
    admin_add() { # URL TENANT NAME: opens the form, posts it as the browser does, follows to the list
        c -o "$tmp/add.html" "$1/t/$2/admin/things/add/"
        c -o "$tmp/list.html" -L --data-urlencode "csrfmiddlewaretoken=$(csrf_of "$tmp/add.html")" \
            --data-urlencode "name=$3" --data-urlencode "project=$(selected_of "$tmp/add.html")" "$1/t/$2/admin/things/add/"
    }
    victim_login() { admin_login "$T_URL" victim; }
    victim_create() { admin_add "$T_URL" victim "$1"; }

    rec_start admin
    check "admin: sign-up through the proxy" test "$(signup "$P" acme)" = 201
    c -o /dev/null "$P/t/acme/admin/login/"
    admin_login "$P" acme
    admin_add "$P" acme "Blue widget"
    # The new thing's only trace: its link on the list page.
    link=$(grep -o 'href="/t/acme/admin/things/[0-9]*/change/">Blue widget<' "$tmp/list.html" | grep -o '/t/[^"]*' || true)
    check "admin: the list links the new thing 3 ($link)" test "$link" = /t/acme/admin/things/3/change/
    c -o "$tmp/change.html" "$P$link"
    c -o /dev/null -L -F "csrfmiddlewaretoken=$(csrf_of "$tmp/change.html")" -F "name=Red widget" \
        -F "project=$(selected_of "$tmp/change.html")" "$P$link"
    c -o "$tmp/delete.html" "$P${link%change/}delete/"
    c -o /dev/null -L -d "csrfmiddlewaretoken=$(csrf_of "$tmp/delete.html")&post=yes" "$P${link%change/}delete/"
    state "$REC_DEMO" >"$tmp/state.json"
    check "admin: the recorded session renamed and deleted thing 3" test "$(sq '.objects[] | select(.id==3) | "\(.tenant) \(.name) \(.deleted)"')" = "acme Red widget true"
    rec_proj=$(sq '.objects[] | select(.id==3) | .project')
    rec_stop

    # What the correlator must find.
    "$REPRISE" show --correlations "$REC" >"$tmp/corr" 2>&1 || true
    [ -z "${SHOW_CORR:-}" ] || cat "$tmp/corr"
    s_change_get=$(seq_of "$REC" GET '/things/3/change/$')
    s_change_post=$(seq_of "$REC" POST '/things/3/change/$')
    s_add_post=$(seq_of "$REC" POST '/things/add/$')
    s_delete_post=$(seq_of "$REC" POST '/things/3/delete/$')
    check "admin: correlations: the id 3 of the change page's URL comes from an HTML link (#$s_change_get)" \
        corr_into "$s_change_get" 'html.* 3( |$)'
    check "admin: correlations: the id 3 of the change POST comes from HTML (#$s_change_post)" \
        corr_into "$s_change_post" 'html.*path segment.* 3( |$)'
    check "admin: correlations: the id 3 of the delete POST comes from HTML (#$s_delete_post)" \
        corr_into "$s_delete_post" 'html.*path segment.* 3( |$)'
    check "admin: correlations: the CSRF field of the urlencoded add form (#$s_add_post)" \
        corr_into "$s_add_post" 'html input csrfmiddlewaretoken.*csrfmiddlewaretoken'
    check "admin: correlations: the CSRF field of the multipart change form (#$s_change_post)" \
        corr_into "$s_change_post" 'html input csrfmiddlewaretoken.*csrfmiddlewaretoken'
    check "admin: correlations: the project $rec_proj of the add form comes from the selected option (#$s_add_post)" \
        corr_into "$s_add_post" "(select|option).*project.* $rec_proj( |\$)"

    target_start
    for run in 1 2; do
        [ "$run" = 1 ] && first=11 || first=21
        [ "$run" = 2 ] && victim_fill_to 21
        replay_once "$run"
        mine=$(ids_of "$T" thing)
        check "run $run: the replay's thing is $first, in its tenant (its things: '$mine')" test "$mine" = "$first"
        check "run $run: thing $first was renamed and deleted ($(sq --argjson i "$first" '.objects[] | select(.id==$i) | tostring'))" \
            test "$(sq --argjson i "$first" '.objects[] | select(.id==$i) | "\(.name) \(.deleted)"')" = "Red widget true"
        cur=$(sq --arg t "$T" '[.projects[] | select(.tenant==$t and .current)][0].id')
        check "run $run: thing $first is in the tenant's own current project $cur, not the recorded $rec_proj" \
            test "$(sq --argjson i "$first" '.objects[] | select(.id==$i) | .project')" = "$cur"
        check "run $run: the replay ran and wrote to no other tenant's thing ($(foreign_writes "$T"))" no_foreign_writes
        victim_untouched "$run" thing 3 4
        check "run $run: the victim's things 3 and 4 keep their names and are not deleted (after runs 1..$run)" \
            test "$(sq '[.objects[] | select(.id==3 or .id==4) | "\(.tenant) \(.name) \(.deleted)"] | join(",")')" = "victim victim-3 false,victim victim-4 false"
    done
    demo_stop
fi

# ================================================================================================
if [ "$part" = graphql ] || [ "$part" = all ]; then
    gql() { # URL TENANT CSRF BODY
        json -H "X-CSRF-Token: $3" -d "$4" "$1/t/$2/graphql"
    }
    victim_login() {
        victim_csrf=$(json -d "{\"tenant\":\"victim\",\"email\":\"owner@victim.test\",\"password\":\"$password\"}" "$T_URL/api/login" | jq -r .csrf_token)
    }
    victim_create() {
        gql "$T_URL" victim "$victim_csrf" "{\"query\":\"mutation { createOrder(input: {product: \\\"$1\\\"}) { id } }\"}" >/dev/null
    }

    rec_start graphql
    check "graphql: sign-up through the proxy" test "$(signup "$P" acme)" = 201
    csrf=$(json -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$P/api/login" | jq -r .csrf_token)
    r=$(gql "$P" acme "$csrf" '{"query":"mutation { createOrder(input: {product: \"Espresso\", quantity: 2}) { id status } }"}')
    check "graphql: createOrder gives order 3 ($r)" test "$(jq -r .data.createOrder.id <<<"$r")" = 3
    r=$(gql "$P" acme "$csrf" '{"query":"mutation Create($input: OrderInput!) { createOrder(input: $input) { id } }","variables":{"input":{"product":"Grinder","quantity":1}},"operationName":"Create"}')
    check "graphql: createOrder with variables gives order 4 ($r)" test "$(jq -r .data.createOrder.id <<<"$r")" = 4
    gql "$P" acme "$csrf" '{"query":"{ order(id: \"3\") { id status product } }"}' >/dev/null
    gql "$P" acme "$csrf" '{"query":"query Get($id: ID!) { order(id: $id) { id status } }","variables":{"id":"4"},"operationName":"Get"}' >/dev/null
    r=$(gql "$P" acme "$csrf" '{"query":"mutation Pay($id: ID!) { payOrder(id: $id) { id status } }","variables":{"id":"4"},"operationName":"Pay"}')
    check "graphql: payOrder pays order 4 ($r)" test "$(jq -r .data.payOrder.status <<<"$r")" = PAID
    gql "$P" acme "$csrf" '[{"query":"query Get($id: ID!) { order(id: $id) { id status } }","variables":{"id":"4"}},{"query":"{ orders { id status } }"}]' >/dev/null
    gql "$P" acme "$csrf" '{"query":"query ById($orderId: ID!) { order(id: $orderId) { id product } }","variables":{"orderId":"3"},"operationName":"ById"}' >/dev/null
    rec_stop

    "$REPRISE" show --correlations "$REC" >"$tmp/corr" 2>&1 || true
    s_c1=$(seq_of "$REC" POST '/graphql$' 1) s_c2=$(seq_of "$REC" POST '/graphql$' 2)
    s_inline=$(seq_of "$REC" POST '/graphql$' 3) s_var=$(seq_of "$REC" POST '/graphql$' 4)
    s_pay=$(seq_of "$REC" POST '/graphql$' 5) s_batch=$(seq_of "$REC" POST '/graphql$' 6)
    s_orderid=$(seq_of "$REC" POST '/graphql$' 7)
    check "graphql: correlations: createOrder's id 3 into the inline order(id: \"3\") (#$s_c1 -> #$s_inline)" \
        bash -c "awk -v f='$s_c1' -v t='$s_inline' '\$1==f && \$2==t' '$tmp/corr' | grep -qE 'createOrder.* 3( |\$)'"
    check "graphql: correlations: createOrder's id 4 into \$.variables.id of order (#$s_c2 -> #$s_var)" \
        bash -c "awk -v f='$s_c2' -v t='$s_var' '\$1==f && \$2==t' '$tmp/corr' | grep -qE 'createOrder.*variables.* 4( |\$)'"
    check "graphql: correlations: createOrder's id 4 into payOrder's \$id (#$s_c2 -> #$s_pay)" \
        bash -c "awk -v f='$s_c2' -v t='$s_pay' '\$1==f && \$2==t' '$tmp/corr' | grep -qE 'createOrder.*variables.* 4( |\$)'"
    check "graphql: correlations: the id 4 in the batch's variables (#$s_c2 -> #$s_batch)" \
        bash -c "awk -v f='$s_c2' -v t='$s_batch' '\$1==f && \$2==t' '$tmp/corr' | grep -qE ' 4( |\$)'"
    check "graphql: correlations: createOrder's id 3 into \$.variables.orderId (#$s_c1 -> #$s_orderid)" \
        bash -c "awk -v f='$s_c1' -v t='$s_orderid' '\$1==f && \$2==t' '$tmp/corr' | grep -qE 'orderId.* 3( |\$)'"

    target_start
    for run in 1 2; do
        [ "$run" = 1 ] && first=11 || first=21
        [ "$run" = 2 ] && victim_fill_to 21
        replay_once "$run"
        mine=$(ids_of "$T" order)
        check "run $run: the replay's orders are $first and $((first + 1)), in its tenant (its orders: '$mine')" test "$mine" = "$first $((first + 1))"
        check "run $run: order $((first + 1)) was paid, $first was not" \
            test "$(sq --argjson a "$first" '[.objects[] | select(.id==$a or .id==$a+1) | .status] | join(" ")')" = "pending paid"
        check "run $run: the replay ran and wrote to no other tenant's order ($(foreign_writes "$T"))" no_foreign_writes
        victim_untouched "$run" order 3 4
        check "run $run: the victim's orders 3 and 4 are still pending (after runs 1..$run)" \
            test "$(sq '[.objects[] | select(.id==3 or .id==4) | "\(.tenant) \(.status)"] | join(",")')" = "victim pending,victim pending"
    done
    demo_stop
fi

# ================================================================================================
if [ "$part" = bearer ] || [ "$part" = all ]; then
    victim_login() {
        victim_token=$(json -d "{\"email\":\"owner@victim.test\",\"password\":\"$password\"}" "$T_URL/api/v2/t/victim/login" | jq -r .access_token)
    }
    victim_create() {
        json -o /dev/null -H "Authorization: Bearer $victim_token" -d "{\"title\":\"$1\"}" "$T_URL/api/v2/t/victim/notes"
    }

    rec_start bearer
    v2=$P/api/v2/t/acme
    check "bearer: sign-up through the proxy" test "$(signup "$P" acme)" = 201
    l1=$(json -d "{\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$v2/login")
    a1=$(jq -r .access_token <<<"$l1") r1=$(jq -r .refresh_token <<<"$l1")
    c -o /dev/null -H "Authorization: Bearer $a1" "$v2/me"
    n=$(json -H "Authorization: Bearer $a1" -d '{"title":"first"}' "$v2/notes")
    check "bearer: the first note is 3 ($n)" test "$(jq .id <<<"$n")" = 3
    l2=$(json -d "{\"refresh_token\":\"$r1\"}" "$v2/refresh")
    a2=$(jq -r .access_token <<<"$l2") r2=$(jq -r .refresh_token <<<"$l2")
    json -o /dev/null -X PATCH -H "Authorization: Bearer $a2" -d '{"title":"first, renamed"}' "$v2/notes/3"
    n=$(json -H "X-Auth-Token: $a2" -d '{"title":"second"}' "$v2/notes")
    check "bearer: the second note is 4 ($n)" test "$(jq .id <<<"$n")" = 4
    l3=$(json -d "{\"refresh_token\":\"$r2\"}" "$v2/refresh")
    a3=$(jq -r .access_token <<<"$l3")
    code=$(c -o /dev/null -w '%{http_code}' -X DELETE -H "X-Auth-Token: $a3" "$v2/notes/4")
    check "bearer: note 4 deleted with the third token in X-Auth-Token ($code)" test "$code" = 204
    c -o /dev/null -H "Authorization: Bearer $a3" "$v2/notes"
    rec_stop

    all=$(zcat "$REC")
    for t in "$a1" "$r1" "$a2" "$r2" "$a3"; do
        check "bearer: the recording holds no live token (${t:0:8}...)" test "$(grep -c "$t" <<<"$all")" -eq 0
    done
    check "bearer: the recording holds no {{secret:authorization}} (a server-issued token is a variable)" \
        test "$(grep -c '{{secret:authorization}}' <<<"$all")" -eq 0
    # Header values sent, one a line: Authorization 4 times (me, notes, PATCH, list), X-Auth-Token twice.
    hdr() { zcat "$REC" | tail -n +2 | jq -r --arg h "$1" '.request.headers[] | select(.[0]|ascii_downcase==$h) | .[1]'; }
    n=$(hdr authorization | grep -c '{{var:' || true)
    check "bearer: the 4 Authorization headers carry {{var:...}} (found $n; they are: $(hdr authorization | sort -u | tr '\n' ' '))" test "$n" -eq 4
    n=$(hdr x-auth-token | grep -c '{{var:' || true)
    check "bearer: the 2 X-Auth-Token headers carry {{var:...}} (found $n)" test "$n" -eq 2
    n_vars=$( (zcat "$REC" | grep -o '{{var:[A-Za-z0-9_.-]*}}' || true) | sort -u | wc -l)
    check "bearer: rotation gives distinct variables (3 access, 2 refresh; found $n_vars)" test "$n_vars" -ge 5
    "$REPRISE" show --correlations "$REC" >"$tmp/corr" 2>&1 || true
    check "bearer: show --correlations lists the access token variable" grep -q 'access_token' "$tmp/corr"
    check "bearer: show --correlations lists the refresh token variable" grep -q 'refresh_token' "$tmp/corr"
    s_patch=$(seq_of "$REC" PATCH '/notes/3$')
    check "bearer: correlations: note 3's id into the PATCH path (#$s_patch)" corr_into "$s_patch" 'path segment.* 3( |$)'

    target_start
    for run in 1 2; do
        [ "$run" = 1 ] && first=11 || first=21
        [ "$run" = 2 ] && victim_fill_to 21
        replay_once "$run"
        check "run $run: no secret asked for a server-issued token ($(grep -o 'REPRISE_SECRET_[A-Z_]*' "$tmp/err" | head -n1))" \
            bash -c "! grep -q 'REPRISE_SECRET_[A-Z_]*TOKEN\|REPRISE_SECRET_AUTHORIZATION' '$tmp/err' '$tmp/out'"
        mine=$(ids_of "$T" note)
        check "run $run: the replay's notes are $first and $((first + 1)), in its tenant (its notes: '$mine')" test "$mine" = "$first $((first + 1))"
        check "run $run: note $first renamed and kept, $((first + 1)) deleted" \
            test "$(sq --argjson a "$first" '[.objects[] | select(.id==$a or .id==$a+1) | "\(.name):\(.deleted)"] | join(" ")')" = "first, renamed:false second:true"
        check "run $run: the replay ran and wrote to no other tenant's note ($(foreign_writes "$T"))" no_foreign_writes
        victim_untouched "$run" note 3 4
    done
    demo_stop
fi

# ================================================================================================
if [ "$part" = board ] || [ "$part" = all ]; then
    # The board through the session cookie (GET /t/{tenant}/api/board), so that this part
    # depends on map inference alone, not on bearer tokens.
    victim_login() { :; }
    victim_create() { :; }
    rec_start board
    check "board: sign-up through the proxy" test "$(signup "$P" acme)" = 201
    json -o /dev/null -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$P/api/login"
    c -o /dev/null "$P/t/acme/api/board"
    c -o "$tmp/board.json" "$P/t/acme/api/board"
    rec_stop
    check "board: the recorded board has 3 columns keyed by their ids" \
        test "$(jq -r '[.columns[].id] == (.columnsById|keys_unsorted) and (.columns|length == 3)' "$tmp/board.json")" = true

    code=0; "$REPRISE" shape "$REC" -o "$tmp/board.shape.json" >/dev/null 2>&1 || code=$?
    check "board: reprise shape writes a shape file (exit $code)" test "$code" -eq 0
    check "board: columnsById is inferred as a map (additionalProperties), not required keys" \
        bash -c "jq -e '[.. | objects | select(has(\"properties\")) | .properties.columnsById? // empty | has(\"additionalProperties\") and ((.required // []) | length == 0)] | any' '$tmp/board.shape.json' >/dev/null"
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); T_URL=$DEMO_URL
    for run in 1 2; do
        replay_once "$run"
        check "run $run: the replay ran and found no mismatch in the board's keys" \
            bash -c "test -n '$T' && ! grep -q 'columnsById' '$tmp/out'"
    done
    demo_stop
fi

# ================================================================================================
if [ "$part" = unsourced ] || [ "$part" = all ]; then
    # The user types the URL of thing 3, which no response of the session gave: another
    # tenant's thing on the recording's demo too. Replay must refuse the write (item 5).
    admin_login() { # URL TENANT
        c -o /dev/null --data-urlencode "email=owner@$2.test" --data-urlencode "password=$password" -L "$1/t/$2/admin/login/"
    }
    other_thing() { # URL: tenant "other" makes thing 3 (or the next id) outside the recording
        rm -f "$jar"
        signup "$1" other >/dev/null
        admin_login "$1" other
        c -o "$tmp/o.html" "$1/t/other/admin/things/add/"
        c -o /dev/null --data-urlencode "csrfmiddlewaretoken=$(csrf_of "$tmp/o.html")" -d name=theirs \
            -d "project=$(selected_of "$tmp/o.html")" "$1/t/other/admin/things/add/"
        rm -f "$jar"
    }
    REC=$tmp/unsourced.jsonl.gz
    demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); REC_DEMO=$DEMO_URL REC_DEMO_PID=$DEMO_PID
    other_thing "$REC_DEMO"
    px_start "$tmp/px-unsourced" --upstream "$REC_DEMO" -o "$REC" --tenant acme
    P=$PX_URL
    check "unsourced: sign-up through the proxy" test "$(signup "$P" acme)" = 201
    admin_login "$P" acme
    c -o "$tmp/add.html" "$P/t/acme/admin/things/add/"
    # Urlencoded (the server takes either encoding), so that only the typed id is at stake.
    code=$(c -o /dev/null -w '%{http_code}' --data-urlencode "csrfmiddlewaretoken=$(csrf_of "$tmp/add.html")" -d name=typed \
        -d "project=$(selected_of "$tmp/add.html")" "$P/t/acme/admin/things/3/change/")
    check "unsourced: the typed write to thing 3 went through at recording ($code)" test "$code" = 303
    rec_stop
    "$REPRISE" show --correlations "$REC" >"$tmp/corr" 2>&1 || true
    check "unsourced: show --correlations lists the 3 in the change URL as unsourced" \
        bash -c "sed -n '/^unsourced:/,/^\$/p' '$tmp/corr' | grep -qE '^ +[0-9]+ +POST +path segment [0-9]+ +3 +refused'"

    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); T_URL=$DEMO_URL
    rm -f "$jar"
    for i in 1 2 3 4; do other_thing "$T_URL"; done
    state "$T_URL" >"$tmp/state.json"
    check "unsourced: on the target, thing 3 is other's" test "$(sq '.objects[] | select(.id==3) | .tenant')" = other
    run replay "$REC" --target "$T_URL" --no-color
    state "$T_URL" >"$tmp/state.json"
    check "unsourced: replay refuses with exit 1 (exit $code; $( (grep -h -E 'FAIL|ERROR|UNSAFE' "$tmp/out" || true) | head -n1 | tr -s ' '))" test "$code" -eq 1
    check "unsourced: the write is reported UNSAFE" grep -q 'UNSAFE' "$tmp/out"
    check "unsourced: other's thing 3 is untouched ($(sq '.objects[] | select(.id==3) | tostring'))" \
        test "$(sq '[.audit[] | select(.id==3 and .op!="create")] | length')" -eq 0
    run replay "$REC" --target "$T_URL" --no-color --allow-unsourced
    check "unsourced: --allow-unsourced turns the refusal into a warning (exit $code)" \
        bash -c "test '$code' -eq 0 && grep -qi 'unsourced' '$tmp/out' '$tmp/err'"
    demo_stop
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
