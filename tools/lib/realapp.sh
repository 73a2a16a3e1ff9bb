# SPDX-License-Identifier: MIT
# Sourced by tests/integration/test_realapp_*.sh: start a third-party web application on a
# loopback port, record a session through `reprise record`, replay it and read what replay
# did. The caller sets REPRISE, sources check.sh and proxy.sh, has an array pids that its EXIT
# trap stops, and a scratch directory tmp.
#
#   ra_node_modules        prints where tools/install-deps.sh put the npm applications
#                          (tests/realapps/node_modules; REPRISE_REALAPPS_MODULES overrides)
#   ra_port                prints a free TCP port on 127.0.0.1
#   ra_start LOG CMD...    runs CMD in the background, output in LOG; sets RA_PID (also in
#                          pids)
#   ra_wait_http URL       waits up to 60 s until URL answers any HTTP status; 1 if it never
#                          does or the last started process died
#   ra_stop PID            SIGTERM, then waits up to 30 s (then SIGKILL); PID leaves pids
#   ra_forget PID          takes PID out of pids (a process stopped otherwise, as by px_stop):
#                          the EXIT trap never signals a PID that may have been reused
#   ra_replay OUT REC URL [ARGS...]
#                          replays REC against URL with --results OUT.results.jsonl.gz; stdout
#                          in OUT.out, stderr in OUT.err (both also printed, indented, into the
#                          test log); exit status in $code, the live tenant that replaced the
#                          recorded one in RA_TENANT
#   ra_sent OUT            prints the requests replay sent (method, URL, body; a multipart
#                          body as name=value parts) from OUT.results.jsonl.gz, one line each
#   ra_django_prepare      the Django project of tests/realapps/django: its environment, and a
#                          migrated empty database ($tmp/empty.sqlite3) to copy; 1 on failure
#   ra_django_db NAME PROJECTS THINGS PASSWORD
#                          $tmp/NAME.sqlite3, seeded by seed.py: the superuser admin with
#                          PASSWORD, projects 1..PROJECTS, things 1..THINGS
#   ra_django_start NAME   gunicorn on $tmp/NAME.sqlite3 on a free port; sets APP_URL, APP_PID.
#                          Its access log, $tmp/NAME.access.log, has a line per request:
#                          method, path, status and the X-Api-Token header it received
#   ra_corr_to FILE SEQ VALUE
#                          true when FILE (the output of `reprise show --correlations`) has a
#                          row into exchange SEQ carrying VALUE (bare or in double quotes)
#   ra_vars FILE           the variables section of FILE (`reprise show --correlations`), a
#                          line per variable: NAME, FROM, FROM-WHERE, USES, tab-separated (USES
#                          as listed: "#2 header Authorization, #4 header Authorization")
#   ra_var_uses FILE FROM WHERE PLACE SEQ...
#                          prints the name of the one variable born in exchange FROM at WHERE
#                          ("body $.token") when it is used exactly at PLACE ("header
#                          X-Api-Token") in each SEQ and nowhere else; fails otherwise
#   ra_sent_field OUT SEQ NAME, ra_sent_url OUT SEQ
#                          a form field's value, the URL, of the request SEQ replay sent

ra_node_modules() {
    echo "${REPRISE_REALAPPS_MODULES:-$src/tests/realapps/node_modules}"
}

ra_port() {
    # A port the kernel gives for 0 and frees again: the application binds it right after.
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ra_start() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 </dev/null &
    RA_PID=$!
    pids+=("$RA_PID")
}

ra_wait_http() {
    local url=$1
    ra__up() {
        kill -0 "$RA_PID" 2>/dev/null || return 0
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)" != 000 ]
    }
    wait_for 60 ra__up || return 1
    kill -0 "$RA_PID" 2>/dev/null
}

ra_stop() {
    local pid=$1 deadline=$((SECONDS + 30))
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    ra_forget "$pid"
}

ra_forget() {
    local p keep=()
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}

ra_replay() {
    local out=$1 rec=$2 url=$3
    shift 3
    code=0
    timeout 120 "$REPRISE" replay "$rec" --target "$url" --no-color \
        --results "$out.results.jsonl.gz" "$@" >"$out.out" 2>"$out.err" || code=$?
    echo "--- reprise replay ($(basename "$out")): exit $code"
    sed 's/^/    /' "$out.err" "$out.out"
    RA_TENANT=$(sed -n 's/.*: tenant [^ ]* -> \([^ ]*\)$/\1/p' "$out.err" | head -n1)
}

ra_django_prepare() {
    export PYTHONPATH=$src/tests/realapps/django DJANGO_SETTINGS_MODULE=realapp_site.settings
    export PYTHONDONTWRITEBYTECODE=1 REALAPP_MEDIA=$tmp/media
    mkdir -p "$tmp/media"
    REALAPP_DB=$tmp/empty.sqlite3 /usr/bin/python3 -m django migrate --run-syncdb -v0
}

ra_django_db() {
    cp "$tmp/empty.sqlite3" "$tmp/$1.sqlite3"
    REALAPP_DB=$tmp/$1.sqlite3 /usr/bin/python3 "$src/tests/realapps/django/seed.py" "$2" "$3" "$4"
}

ra_django_start() {
    REALAPP_DB=$tmp/$1.sqlite3 ra_start "$tmp/$1.gunicorn.log" /usr/bin/python3 -m gunicorn \
        --bind "127.0.0.1:$(ra_port)" --workers 1 --chdir "$src/tests/realapps/django" \
        --access-logfile "$tmp/$1.access.log" --access-logformat '%(m)s %(U)s %(s)s %({x-api-token}i)s' \
        realapp_site.wsgi
    APP_PID=$RA_PID
    APP_LOG=$tmp/$1.gunicorn.log
    ra__listening() { grep -q 'Listening at: ' "$APP_LOG" || ! kill -0 "$APP_PID" 2>/dev/null; }
    wait_for 60 ra__listening || true
    APP_URL=$(sed -n 's/.*Listening at: \(http:[^ ]*\) .*/\1/p' "$APP_LOG" | head -n1)
    [ -n "$APP_URL" ] && ra_wait_http "$APP_URL/admin/login/"
}

ra_corr_to() {
    # A row: FROM TO FROM-WHERE... TO-WHERE... VALUE [(kind)].
    awk -v to="$2" -v v="$3" '{ val = $NF; if (val ~ /^\(.*\)$/) val = $(NF - 1) }
        $2 == to && (val == v || val == "\"" v "\"") { found = 1 } END { exit !found }' "$1"
}

ra_vars() {
    sed -nE '/^ *VARIABLE +FROM/,/^ *[0-9]+ variables?$/ s/^ *([^ ]+) +([0-9]+) +([^#]*[^# ]) +(#[0-9].*)$/\1\t\2\t\3\t\4/p' "$1"
}

ra_var_uses() {
    local file=$1 from=$2 where=$3 place=$4 rows want got s
    shift 4
    rows=$(ra_vars "$file" | awk -F'\t' -v f="$from" -v w="$where" '$2 == f && $3 == w')
    [ -n "$rows" ] && [ "$(wc -l <<<"$rows")" -eq 1 ] || return 1
    want=$(for s in "$@"; do echo "#$s $place"; done | sort)
    got=$(cut -f4 <<<"$rows" | sed 's/, /\n/g' | sort)
    [ "$want" = "$got" ] || return 1
    cut -f1 <<<"$rows"
}

ra_sent() {
    zcat "$1.results.jsonl.gz" 2>/dev/null | tail -n +2 |
        jq -r '[.request.method, .request.url,
                ((.request.body // "") | gsub("-{8,}[0-9A-Za-z]+(--)?"; "|")
                 | gsub("\r?\nContent-Disposition: form-data; name=\"(?<n>[^\"]*)\"[^\n]*\n(Content-Type:[^\n]*\n)?\r?\n"; "\(.n)=")
                 | gsub("\r?\n"; " ") | .[0:400])] | join(" ")' 2>/dev/null || true
}

# ra_sent_field OUT SEQ NAME: the value of form field NAME (urlencoded or multipart) in the
# request SEQ (1-based) replay sent, from OUT.results.jsonl.gz; empty when not there.
ra_sent_field() {
    zcat "$1.results.jsonl.gz" 2>/dev/null | tail -n +2 | sed -n "$2p" |
        jq -r --arg n "$3" '(.request.body // "") as $b
            | ( ($b | capture("name=\"" + $n + "\"[^\n]*\n(Content-Type:[^\n]*\n)?\r?\n(?<v>[^\r\n]*)").v)
                // ($b | capture("(^|&)" + $n + "=(?<v>[^&]*)").v) // "")' 2>/dev/null || true
}

# ra_sent_url OUT SEQ: the URL of the request SEQ replay sent.
ra_sent_url() {
    zcat "$1.results.jsonl.gz" 2>/dev/null | tail -n +2 | sed -n "$2p" | jq -r '.request.url' 2>/dev/null || true
}
