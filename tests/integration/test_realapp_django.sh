#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real third-party application: Django's admin (python3-django from Debian, served by
# gunicorn) with the small project in tests/realapps/django. A session is recorded through
# `reprise record` as a browser drives the admin: log in (CSRF token in a hidden input and a
# cookie), add a project (the tenant) whose id shows only in links, add a thing to it with a
# multipart form whose <select> names the project, open the thing from the list's link, save it
# again (the change form pre-selects the project and posts it back), delete it. Recorded where
# the new project is 3 and the new thing 4; replayed twice where they are 11 and 21 (then 12,
# 22) and where project 3 and thing 4 belong to someone else. After each replay the server's
# own state says what happened: its tables, Django's LogEntry (the admin's audit log) and the
# app's Audit table (one row per save of a thing: which thing, in which project).
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
/usr/bin/python3 -c 'import django, gunicorn' 2>/dev/null ||
    skip "python3-django or python3-gunicorn is not installed (tools/install-deps.sh)"

password=admin-pass-$$
# A migrated empty database, made once and copied for each fresh start.
ra_django_prepare ||
    { bad "manage.py migrate makes the database"; echo "$pass passed, $fail failed"; exit 1; }
fresh_db() { ra_django_db "$1" "$2" "$3" "$password"; }
start_app() { ra_django_start "$1"; }

q() { sqlite3 "$tmp/$db.sqlite3" "$1"; }

# 1. Record on a database with projects 1-2 and things 1-3.
fresh_db record 2 3
start_app record || { bad "gunicorn serves the admin: $(tail -n3 "$tmp/record.gunicorn.log")"; echo "$pass passed, $fail failed"; exit 1; }
rec=$tmp/django.jsonl.gz
px_start "$tmp/px" --upstream "$APP_URL" -o "$rec" --tenant acme
P=$PX_URL
jar=$tmp/jar
c() { curl -sS --max-time 30 -b "$jar" -c "$jar" "$@"; }
post() { c -o /dev/null -w '%{http_code} %{redirect_url}\n' "$@"; }
csrf_of() { sed -n 's/.*name="csrfmiddlewaretoken" value="\([^"]*\)".*/\1/p' "$1" | head -n1; }
echo hello >"$tmp/notes.txt"

c -o "$tmp/login.html" "$P/admin/login/?next=/admin/"
t=$(csrf_of "$tmp/login.html")
r1=$(post --data-urlencode "csrfmiddlewaretoken=$t" -d username=admin --data-urlencode "password=$password" \
    -d next=/admin/ "$P/admin/login/?next=/admin/")
c -o /dev/null "$P/admin/"
c -o "$tmp/padd.html" "$P/admin/tracker/project/add/"
r2=$(post --data-urlencode "csrfmiddlewaretoken=$(csrf_of "$tmp/padd.html")" -d name=acme -d _save=Save \
    "$P/admin/tracker/project/add/")
c -o "$tmp/plist.html" "$P/admin/tracker/project/"
pid=$(grep -o 'href="/admin/tracker/project/[0-9]*/change/"' "$tmp/plist.html" | head -n1 | tr -dc 0-9)
c -o "$tmp/tadd.html" "$P/admin/tracker/thing/add/"
# The user picks the new project in the <select> (its option value is the id) and attaches a file.
r3=$(post -F "csrfmiddlewaretoken=$(csrf_of "$tmp/tadd.html")" -F "project=$pid" -F name=widget \
    -F "attachment=@$tmp/notes.txt" -F _save=Save "$P/admin/tracker/thing/add/")
c -o "$tmp/tlist.html" "$P/admin/tracker/thing/"
tid=$(grep -o 'href="/admin/tracker/thing/[0-9]*/change/"' "$tmp/tlist.html" | head -n1 | tr -dc 0-9)
c -o "$tmp/tchange.html" "$P/admin/tracker/thing/$tid/change/"
sel=$(grep -A40 '<select name="project"' "$tmp/tchange.html" | sed -n 's/.*<option value="\([0-9]*\)" selected>.*/\1/p' | head -n1)
# Saved again as a browser does: every field as the server filled it in, the name changed.
r4=$(post -F "csrfmiddlewaretoken=$(csrf_of "$tmp/tchange.html")" -F "project=$sel" -F name=widget-renamed \
    -F 'attachment=;filename=' -F _save=Save "$P/admin/tracker/thing/$tid/change/")
c -o "$tmp/tdel.html" "$P/admin/tracker/thing/$tid/delete/"
r5=$(post --data-urlencode "csrfmiddlewaretoken=$(csrf_of "$tmp/tdel.html")" -d post=yes \
    "$P/admin/tracker/thing/$tid/delete/")
c -o /dev/null "$P/admin/tracker/thing/"
px_stop INT
ra_forget "$PX_PID"
check "the proxy stops with exit 0 (exit $code)" test "$code" -eq 0
check "recording: log-in redirects ($r1)" test "${r1%% *}" = 302
check "recording: the project is added ($r2)" test "${r2%% *}" = 302
check "recording: the new project is 3, seen only in a link ($pid)" test "$pid" = 3
check "recording: the thing is added with a multipart form ($r3)" test "${r3%% *}" = 302
check "recording: the new thing is 4 ($tid)" test "$tid" = 4
check "recording: its change form pre-selects project 3 ($sel)" test "$sel" = 3
check "recording: the change is saved ($r4)" test "${r4%% *}" = 302
check "recording: the thing is deleted ($r5)" test "${r5%% *}" = 302
db=record
check "recording: the server saved thing 4 twice in project 3" test "$(q 'select group_concat(thing_id||":"||project_id) from tracker_audit')" = "4:3,4:3"
check "the recording holds no password" test "$(zcat "$rec" | grep -c -- "$password" || true)" -eq 0
check "a multipart request is in the recording" test "$(zcat "$rec" | tail -n +2 | jq -r '.request.headers[]|select(.[0]|ascii_downcase=="content-type")|.[1]' | grep -c '^multipart/form-data')" -ge 2
ra_stop "$APP_PID"

echo "--- reprise show --correlations"
"$REPRISE" show --correlations "$rec" >"$tmp/corr.out" 2>&1 || true
sed 's/^/    /' "$tmp/corr.out"
# Exchanges: 1 login page, 2 log-in, 3 index, 4 add-project form, 5 add project, 6 project list
# (the link to project 3), 7 add-thing form, 8 add thing (multipart, project=3), 9 thing list
# (the link to thing 4), 10 thing 4's change form (project 3 pre-selected), 11 save it
# (multipart), 12 its delete page, 13 delete it, 14 thing list.
corr_to() { ra_corr_to "$tmp/corr.out" "$@"; }
corr_csrf_to() { awk -v to="$1" '$2 == to && /csrfmiddlewaretoken/' "$tmp/corr.out" | grep -q .; }
check "show --correlations: the project id 3 (from #6's link) is carried into the multipart post #8" corr_to 8 3
check "show --correlations: the thing id 4 (from #9's link) is carried into the URL of #10" corr_to 10 4
corr_later() { corr_to 11 4 && corr_to 12 4 && corr_to 13 4; }
check "show --correlations: ... and of #11, #12, #13" corr_later
check "show --correlations: the pre-selected project 3 of #10's form is carried into #11" corr_to 11 3
corr_csrf() { corr_csrf_to 8 && corr_csrf_to 11; }
check "show --correlations: the CSRF token of the form pages is carried into the multipart posts #8 and #11" corr_csrf

# 2. Replay twice on a database where projects 1-10 and things 1-20 exist: the replay's project
# and thing get 11 and 21 (then 12 and 22); project 3 and thing 4 are someone else's.
db=replay
fresh_db replay 10 20
start_app replay || { bad "gunicorn serves the replay database"; echo "$pass passed, $fail failed"; exit 1; }
seeded_things=$(q "select group_concat(id||':'||project_id||':'||name, ',') from (select * from tracker_thing order by id)")
seeded_projects=$(q "select group_concat(id||':'||name, ',') from (select * from tracker_project order by id)")
export REPRISE_SECRET_PASSWORD=$password
for run in 1 2; do
    log0=$(q 'select coalesce(max(id),0) from django_admin_log')
    aud0=$(q 'select coalesce(max(id),0) from tracker_audit')
    ra_replay "$tmp/replay$run" "$rec" "$APP_URL"
    echo "--- what replay $run sent"
    ra_sent "$tmp/replay$run" | sed 's/^/    /'
    check "replay $run: exit 0 (exit $code)" test "$code" -eq 0
    lp=$(q "select group_concat(id) from tracker_project where name='$RA_TENANT'")
    added=$(q "select group_concat(object_id) from django_admin_log l join django_content_type t on t.id=l.content_type_id where l.id>$log0 and t.model='thing' and action_flag=1")
    # What reprise sent, against what the live server had given it.
    v=$(ra_sent_field "$tmp/replay$run" 8 project)
    check "replay $run: #8 (add thing, multipart) sends the live project ${lp:-?} (sent project=$v)" test "$v" = "${lp:-x}"
    v=$(ra_sent_field "$tmp/replay$run" 8 csrfmiddlewaretoken)
    check "replay $run: #8 sends the live CSRF token, not the recorded one" \
        test -n "$v" -a "$(zcat "$rec" | grep -c -- "$v" || true)" -eq 0
    v=$(ra_sent_url "$tmp/replay$run" 10)
    check "replay $run: #10 opens the live thing's link /thing/${added:-?}/change/ (sent $v)" test "$v" = "$APP_URL/admin/tracker/thing/${added:-x}/change/"
    v=$(ra_sent_field "$tmp/replay$run" 11 project)
    check "replay $run: #11 (save, multipart) posts back the live pre-selected project ${lp:-?} (sent project=$v)" test "$v" = "${lp:-x}"
    v=$(ra_sent_url "$tmp/replay$run" 13)
    check "replay $run: #13 deletes the live thing /thing/${added:-?}/delete/ (sent $v)" test "$v" = "$APP_URL/admin/tracker/thing/${added:-x}/delete/"
    check "replay $run: a fresh tenant ($RA_TENANT)" test -n "$RA_TENANT" -a "$RA_TENANT" != acme
    check "replay $run: the server has one project named $RA_TENANT (ids: ${lp:-none})" test -n "$lp" -a "${lp//[0-9]/}" = ""
    check "replay $run: ... a new one, not 3 (${lp:-none})" test "${lp:-0}" -ge 11 2>/dev/null
    changed=$(q "select group_concat(object_id) from django_admin_log l join django_content_type t on t.id=l.content_type_id where l.id>$log0 and t.model='thing' and action_flag=2")
    deleted=$(q "select group_concat(object_id) from django_admin_log l join django_content_type t on t.id=l.content_type_id where l.id>$log0 and t.model='thing' and action_flag=3")
    echo "    admin log of replay $run: thing added ${added:-none}, changed ${changed:-none}, deleted ${deleted:-none}"
    check "replay $run: the admin log shows one thing added, a new one (${added:-none})" \
        test -n "$added" -a "${added//[0-9]/}" = "" -a "${added:-0}" -ge 21
    check "replay $run: ... and that thing, only it, changed (${changed:-none}, added ${added:-none})" \
        test -n "$changed" -a "$changed" = "$added"
    check "replay $run: ... and that thing, only it, deleted (${deleted:-none}, added ${added:-none})" \
        test -n "$deleted" -a "$deleted" = "$added"
    saves=$(q "select group_concat(thing_id||':'||project_id) from tracker_audit where id>$aud0")
    check "replay $run: every save of a thing was in the tenant's project $lp (saves thing:project ${saves:-none})" \
        test -n "$saves" -a "$saves" = "${added:-x}:${lp:-x},${added:-x}:${lp:-x}"
    check "replay $run: thing 4 (someone else's) was never saved (saves ${saves:-none})" \
        test "$(q "select count(*) from tracker_audit where id>$aud0 and thing_id=4")" -eq 0
    check "replay $run: nothing was put in project 3 (someone else's)" \
        test "$(q "select count(*) from tracker_audit where id>$aud0 and project_id=3")" -eq 0
    now=$(q "select group_concat(id) from tracker_thing where id<=20")
    check "replay $run: the seeded things 1-20 are all there, unchanged (there now: $now)" \
        test "$(q "select group_concat(id||':'||project_id||':'||name, ',') from (select * from tracker_thing where id<=20 order by id)")" = "$seeded_things"
    check "replay $run: the seeded projects are all there, unchanged" \
        test "$(q "select group_concat(id||':'||name, ',') from (select * from tracker_project where id<=10 order by id)")" = "$seeded_projects"
    check "replay $run: the replay's own thing is gone (${added:-none})" \
        test -n "$added" -a "$(q "select count(*) from tracker_thing where id='${added:-x}'")" = 0
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
