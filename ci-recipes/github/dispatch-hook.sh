#!/bin/sh
# SPDX-License-Identifier: MIT
# dispatch-hook.sh TARGET_URL [REASON]: start the reprise workflow of ci-recipes/github/
# reprise.yml by hand through GitHub's REST API (workflow_dispatch), as a platform's deploy
# hook does once a deploy is live, for a platform that does not create GitHub deployments:
#   POST $GITHUB_API_URL/repos/$GITHUB_REPOSITORY/actions/workflows/reprise.yml/dispatches
#   Authorization: Bearer $GITHUB_TOKEN
#   {"ref": "$GITHUB_BRANCH", "inputs": {"target": TARGET_URL, "reason": REASON}}
# Environment:
#   GITHUB_TOKEN       a token allowed to run workflows (a fine-grained token with the
#                      repository's "Actions: write"; never printed, never on a command line:
#                      curl reads it from its standard input)
#   GITHUB_REPOSITORY  OWNER/REPO (required)
#   GITHUB_BRANCH      the branch whose workflow file runs (default main)
#   GITHUB_API_URL     the API base (default https://api.github.com)
# Prints one line: "dispatch-hook: reprise.yml started for TARGET_URL" and exits 0, or one
# line "dispatch-hook: what went wrong" on stderr and exits 1 (2 for a usage error). Needs sh
# and curl.
set -u

die() { echo "dispatch-hook: $*" >&2; exit "${code:-1}"; }

# A JSON string of $1: backslashes and quotes escaped, control characters made spaces.
json_str() {
    printf '"%s"' "$(printf '%s' "$1" | tr '\000-\037' ' ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# The first line of $1 with every copy of the token taken out, cut at 200 bytes.
clean() {
    printf '%s\n' "$1" | head -n 1 | awk -v t="$GITHUB_TOKEN" '
        { if (t != "") { while ((i = index($0, t)) > 0) { $0 = substr($0, 1, i - 1) "***" substr($0, i + length(t)) } } print substr($0, 1, 200) }'
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    code=2
    die "usage: dispatch-hook.sh TARGET_URL [REASON]"
fi
target=$1
reason=${2:-}
case $target in
    http://* | https://*) ;;
    *) code=2; die "the target must be an http:// or https:// URL: $target" ;;
esac
[ -n "${GITHUB_TOKEN:-}" ] || { code=2; die "GITHUB_TOKEN is not set"; }
[ -n "${GITHUB_REPOSITORY:-}" ] || { code=2; die "GITHUB_REPOSITORY is not set (OWNER/REPO)"; }
command -v curl >/dev/null 2>&1 || { code=2; die "curl is not installed"; }
api=${GITHUB_API_URL:-https://api.github.com}
url="${api%/}/repos/$GITHUB_REPOSITORY/actions/workflows/reprise.yml/dispatches"
body="{\"ref\": $(json_str "${GITHUB_BRANCH:-main}"), \"inputs\": {\"target\": $(json_str "$target"), \"reason\": $(json_str "$reason")}}"

case $GITHUB_TOKEN in *'
'*) code=2; die "GITHUB_TOKEN holds a line break" ;; esac
token=$(printf '%s' "$GITHUB_TOKEN" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')

tmp=$(mktemp) || die "cannot make a temporary file"
trap 'rm -f "$tmp" "$tmp.err"' EXIT
# The token goes to curl as a config line on its standard input, so no process list shows it.
status=$(printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl --config - --silent --show-error --max-time 30 --connect-timeout 10 \
        -X POST -H "Content-Type: application/json" -H "Accept: application/vnd.github+json" \
        -H "X-GitHub-Api-Version: 2022-11-28" \
        --data-binary "$body" -o "$tmp" -w '%{http_code}' "$url" 2>"$tmp.err")
rc=$?
if [ "$rc" -ne 0 ]; then
    die "cannot reach $api: $(clean "$(sed -e 's/^curl: ([0-9]*) //' "$tmp.err")")"
fi
answer=$(tr '\n' ' ' <"$tmp")
case $status in
    2??) ;;
    *)
        # GitHub's errors are {"message": "...", "documentation_url": "..."}.
        msg=$(printf '%s' "$answer" | sed -n 's/.*"message" *: *"\([^"]*\)".*/\1/p')
        die "POST $url answered $status: $(clean "${msg:-$answer}")"
        ;;
esac
echo "dispatch-hook: reprise.yml started for $target"
