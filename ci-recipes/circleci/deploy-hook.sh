#!/bin/sh
# SPDX-License-Identifier: MIT
# deploy-hook.sh TARGET_URL [REASON]: start the reprise pipeline of ci-recipes/circleci/
# config.yml through CircleCI's API, as a platform's deploy hook does once a deploy is live:
#   POST $CIRCLECI_API/project/$CIRCLECI_PROJECT/pipeline
#   Circle-Token: $CIRCLECI_TOKEN
#   {"branch": "$CIRCLECI_BRANCH", "parameters": {"reprise-target": TARGET_URL,
#                                                 "reprise-reason": REASON}}
# Environment:
#   CIRCLECI_TOKEN    a CircleCI personal API token (required; never printed, never on a
#                     command line: curl reads it from its standard input)
#   CIRCLECI_PROJECT  the project slug, as gh/ORG/REPO or bb/ORG/REPO (required)
#   CIRCLECI_BRANCH   the branch whose .circleci/config.yml runs (default main)
#   CIRCLECI_API      the API base (default https://circleci.com/api/v2)
# Prints one line: "deploy-hook: pipeline N started for TARGET_URL" and exits 0, or one line
# "deploy-hook: what went wrong" on stderr and exits 1 (2 for a usage error). Needs sh and curl.
set -u

die() { echo "deploy-hook: $*" >&2; exit "${code:-1}"; }

# A JSON string of $1: backslashes and quotes escaped, control characters made spaces.
json_str() {
    printf '"%s"' "$(printf '%s' "$1" | tr '\000-\037' ' ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# The first line of $1 with every copy of the token taken out, cut at 200 bytes.
clean() {
    printf '%s\n' "$1" | head -n 1 | awk -v t="$CIRCLECI_TOKEN" '
        { if (t != "") { while ((i = index($0, t)) > 0) { $0 = substr($0, 1, i - 1) "***" substr($0, i + length(t)) } } print substr($0, 1, 200) }'
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    code=2
    die "usage: deploy-hook.sh TARGET_URL [REASON]"
fi
target=$1
reason=${2:-}
case $target in
    http://* | https://*) ;;
    *) code=2; die "the target must be an http:// or https:// URL: $target" ;;
esac
[ -n "${CIRCLECI_TOKEN:-}" ] || { code=2; die "CIRCLECI_TOKEN is not set"; }
[ -n "${CIRCLECI_PROJECT:-}" ] || { code=2; die "CIRCLECI_PROJECT is not set (gh/ORG/REPO)"; }
command -v curl >/dev/null 2>&1 || { code=2; die "curl is not installed"; }
api=${CIRCLECI_API:-https://circleci.com/api/v2}
url="${api%/}/project/$CIRCLECI_PROJECT/pipeline"
body="{\"branch\": $(json_str "${CIRCLECI_BRANCH:-main}"), \"parameters\": {\"reprise-target\": $(json_str "$target"), \"reprise-reason\": $(json_str "$reason")}}"

case $CIRCLECI_TOKEN in *'
'*) code=2; die "CIRCLECI_TOKEN holds a line break" ;; esac
token=$(printf '%s' "$CIRCLECI_TOKEN" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')

tmp=$(mktemp) || die "cannot make a temporary file"
trap 'rm -f "$tmp" "$tmp.err"' EXIT
# The token goes to curl as a config line on its standard input, so no process list shows it.
status=$(printf 'header = "Circle-Token: %s"\n' "$token" |
    curl --config - --silent --show-error --max-time 30 --connect-timeout 10 \
        -X POST -H "Content-Type: application/json" -H "Accept: application/json" \
        --data-binary "$body" -o "$tmp" -w '%{http_code}' "$url" 2>"$tmp.err")
rc=$?
if [ "$rc" -ne 0 ]; then
    die "cannot reach $api: $(clean "$(sed -e 's/^curl: ([0-9]*) //' "$tmp.err")")"
fi
answer=$(tr '\n' ' ' <"$tmp")
case $status in
    2??) ;;
    *)
        # CircleCI's errors are {"message": "..."}.
        msg=$(printf '%s' "$answer" | sed -n 's/.*"message" *: *"\([^"]*\)".*/\1/p')
        die "POST $url answered $status: $(clean "${msg:-$answer}")"
        ;;
esac
number=$(printf '%s' "$answer" | sed -n 's/.*"number" *: *\([0-9][0-9]*\).*/\1/p')
echo "deploy-hook: pipeline ${number:-?} started for $target"
