#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise capture over the third-party pcap corpus (../shared/corpus/pcap, read in place):
# every file must read with exit 0, and the complete exchanges reprise finds (with a response,
# not marked incomplete) must equal the pairs tshark 4.0 decodes (min of its request and
# response counts in EXPECTED.tsv), except for the differences listed below, each explained.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
corpus=${REPRISE_CORPUS:-$src/../shared/corpus}
source "$src/tools/lib/check.sh"
[ -f "$corpus/pcap/EXPECTED.tsv" ] || skip "no pcap corpus at $corpus/pcap (set REPRISE_CORPUS)"
need jq
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Known differences from tshark: file, reprise's complete count, why reprise is right.
declare -A known_count known_why
known() { known_count[$1]=$2; known_why[$1]=$3; }
known tcpflow_test5-lines-randomized.pcap 1 \
    "packets shuffled in file order: reprise holds segments until their SYN and reads them in sequence order; tshark reads file order"
known tcpflow_test5-lines-randomized2.pcap 1 \
    "3 shuffled data segments, no handshake: held, then read from the lowest sequence number at the end of the file"
known suricata_http-pipeline-files-with-gap.pcap 2 \
    "the lost server bytes are inside response 2's Content-Length body: skipped in step (that exchange kept, incomplete), response 3 parses"
known zeek_http_zero-length-bodies-with-drops.pcap 3 \
    "whole requests lost between messages: exchanges paired after the loss are marked incomplete rather than risk a wrong pairing"

known zeek_http_1000-requests-one-dropped-response.pcap 0 \
    "a whole response is missing mid-connection: pairing the 999 after it by order alone cannot be trusted (it is off by one), so they are kept marked incomplete"

printf '%-72s %5s %5s %8s %10s  %s\n' file req rsp tshark reprise/inc note
while IFS=$'\t' read -r file req rsp; do
    case $file in '#'*|'') continue ;; esac
    f="$corpus/pcap/$file"
    if [ ! -f "$f" ]; then
        echo "not ok - $file is listed in EXPECTED.tsv but absent"; fail=$((fail + 1)); continue
    fi
    code=0
    "$REPRISE" capture --no-redact --include-static -r "$f" -o "$tmp/out.jsonl.gz" >"$tmp/stdout" 2>"$tmp/stderr" || code=$?
    if [ "$code" -ne 0 ]; then
        echo "not ok - $file: exit $code: $(head -n1 "$tmp/stderr")"; fail=$((fail + 1)); continue
    fi
    got=$(zcat "$tmp/out.jsonl.gz" | tail -n +2 | jq -s '[.[] | select(.response and (.incomplete | not))] | length')
    inc=$(zcat "$tmp/out.jsonl.gz" | tail -n +2 | jq -s '[.[] | select(.incomplete)] | length')
    want=$(( req < rsp ? req : rsp ))
    note=""
    if [ -n "${known_count[$file]:-}" ]; then
        if [ "$got" -eq "${known_count[$file]}" ]; then
            note="explained: ${known_why[$file]}"
        else
            note="UNEXPLAINED: known difference expects ${known_count[$file]}"
        fi
    elif [ "$got" -ne "$want" ]; then
        note="UNEXPLAINED difference"
    fi
    printf '%-72s %5s %5s %8s %6s/%-3s  %s\n' "$file" "$req" "$rsp" "$want" "$got" "$inc" "$note"
    case $note in
        UNEXPLAINED*) fail=$((fail + 1)) ;;
        *) pass=$((pass + 1)) ;;
    esac
done <"$corpus/pcap/EXPECTED.tsv"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
