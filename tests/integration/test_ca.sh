#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise ca, as a user runs it: the CA's files and their modes, what openssl makes of the
# certificate, a second run finding the same CA, the default directory under XDG_DATA_HOME, and
# the one-line errors for an unsafe key and a bad flag.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 022
source "$src/tools/lib/check.sh"
need openssl

# The first run makes the CA, parents too.
dir=$tmp/a/ca
code=0; "$REPRISE" ca --ca-dir "$dir" >"$tmp/out1" 2>"$tmp/err" || code=$?
check "ca exits 0" test "$code" -eq 0
check "ca prints nothing on stderr" test ! -s "$tmp/err"
check "the first line is the certificate's path" test "$(head -n1 "$tmp/out1")" = "CA certificate: $dir/ca.pem"
check "the first run says it created the CA" grep -q "^created a new CA in $dir " "$tmp/out1"
check "ca.pem is 0644" test "$(stat -c %a "$dir/ca.pem")" = 644
check "ca-key.pem is 0600" test "$(stat -c %a "$dir/ca-key.pem")" = 600
check "the directory is 0700" test "$(stat -c %a "$dir")" = 700
check "its new parent is 0700" test "$(stat -c %a "$tmp/a")" = 700
check "no temporary file is left" test -z "$(find "$dir" -name '*.tmp')"
text=$(openssl x509 -in "$dir/ca.pem" -noout -text)
check "openssl reads a CA certificate" grep -q 'CA:TRUE, pathlen:0' <<<"$text"
check "its key usage is certificate and CRL signing" grep -q 'Certificate Sign, CRL Sign' <<<"$text"
check "its subject names reprise" grep -qE 'Subject: O ?= ?reprise, CN ?= ?"?reprise interception CA \(' <<<"$text"
check "the key is EC P-256" grep -q 'NIST CURVE: P-256' <<<"$text"
check "openssl matches the key to the certificate" test \
    "$(openssl pkey -in "$dir/ca-key.pem" -pubout)" = "$(openssl x509 -in "$dir/ca.pem" -noout -pubkey)"
check "the certificate verifies against itself" bash -c "openssl verify -CAfile '$dir/ca.pem' '$dir/ca.pem' >/dev/null"
fp=$(openssl x509 -in "$dir/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
check "the fingerprint printed is openssl's SHA-256" grep -qx "SHA-256 fingerprint: $fp" "$tmp/out1"
check "the how-to names certutil with the path" grep -qF "certutil -d sql:\$HOME/.pki/nssdb -A -t C,, -n reprise -i $dir/ca.pem" "$tmp/out1"
check "the how-to names curl --cacert" grep -qF -- "--cacert $dir/ca.pem" "$tmp/out1"
check "the warning names the key" grep -qF "anyone who has $dir/ca-key.pem can impersonate" "$tmp/out1"

# The second run finds the same CA.
"$REPRISE" ca --ca-dir "$dir" >"$tmp/out2"
check "the second run says existing" grep -q "^existing CA in $dir " "$tmp/out2"
check "the second run shows the same fingerprint" grep -qx "SHA-256 fingerprint: $fp" "$tmp/out2"

# The default directory: $XDG_DATA_HOME/reprise, or ~/.local/share/reprise.
XDG_DATA_HOME=$tmp/xdg "$REPRISE" ca >"$tmp/out3"
check "XDG_DATA_HOME puts the CA in XDG_DATA_HOME/reprise" test "$(head -n1 "$tmp/out3")" = "CA certificate: $tmp/xdg/reprise/ca.pem"
check "XDG_DATA_HOME/reprise holds the key" test -f "$tmp/xdg/reprise/ca-key.pem"
(cd "$tmp" && env -u XDG_DATA_HOME HOME="$tmp/home" "$REPRISE" ca >"$tmp/out4")
check "without XDG_DATA_HOME the CA is under HOME" test "$(head -n1 "$tmp/out4")" = "CA certificate: $tmp/home/.local/share/reprise/ca.pem"
(cd "$tmp" && XDG_DATA_HOME=rel HOME="$tmp/home" "$REPRISE" ca >"$tmp/out5")
check "a relative XDG_DATA_HOME is ignored" grep -q "^existing CA in $tmp/home/.local/share/reprise " "$tmp/out5"
check "and nothing is made under it" test ! -e "$tmp/rel"

# Errors: one line on stderr, exit 2.
chmod 644 "$dir/ca-key.pem"
code=0; "$REPRISE" ca --ca-dir "$dir" >"$tmp/out" 2>"$tmp/err" || code=$?
check "a key others can read exits 2" test "$code" -eq 2
check "a key others can read gives one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
check "the line names the file, its mode and chmod 600" grep -qE "^reprise: $dir/ca-key.pem: mode 0644 .*chmod 600" "$tmp/err"
check "nothing goes to stdout then" test ! -s "$tmp/out"
chmod 600 "$dir/ca-key.pem"

echo garbage >"$tmp/a/bad.pem"
mkdir -m 700 "$tmp/bad" && cp "$dir/ca-key.pem" "$tmp/bad/" && cp "$tmp/a/bad.pem" "$tmp/bad/ca.pem"
code=0; "$REPRISE" ca --ca-dir "$tmp/bad" >"$tmp/out" 2>"$tmp/err" || code=$?
check "a ca.pem that is not PEM exits 2" test "$code" -eq 2
check "a ca.pem that is not PEM is named" grep -qx "reprise: $tmp/bad/ca.pem: not a PEM certificate" "$tmp/err"

code=0; "$REPRISE" ca --bogus >"$tmp/out" 2>"$tmp/err" || code=$?
check "an unknown option exits 2" test "$code" -eq 2
check "an unknown option is named" grep -qx "reprise: ca: unknown option --bogus" "$tmp/err"
code=0; "$REPRISE" ca extra >"$tmp/out" 2>"$tmp/err" || code=$?
check "an argument exits 2" test "$code" -eq 2
check "ca --help prints the usage" bash -c "'$REPRISE' ca --help | grep -q '^usage: reprise ca \[--ca-dir DIR\]'"
check "reprise --help lists ca" bash -c "'$REPRISE' --help | grep -qE '^ +ca +'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
