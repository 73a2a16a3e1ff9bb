# SPDX-License-Identifier: MIT
# Sourced by tests: a certificate authority and a server certificate for 127.0.0.1 made on the
# spot, and nginx on a free loopback port with its own configuration, pid file and logs.
#
#   tls_make DIR          DIR/ca.pem (the CA to trust), DIR/server.pem and DIR/server.key
#   nginx_start DIR BLOCK starts nginx with the http{} server block BLOCK, in which PORT stands
#                         for the port; sets NGINX_PID and NGINX_PORT (empty on failure). The
#                         caller stops NGINX_PID. DIR must be readable by nginx's workers.
#                         nginx is ready once it wrote its pid file, which it does after it
#                         bound and listened on the port; the port is random (tests run in
#                         parallel), and taken ones are retried on another.

tls_make() {
    local d=$1
    (
        umask 077
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=reprise test CA" \
            -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext.cnf"
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
            -CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
    )
    chmod 0644 "$d/server.pem" "$d/ca.pem"
    chmod 0640 "$d/server.key"
}

nginx_start() {
    local dir=$1 block=$2 conf
    conf=$dir/nginx-$RANDOM
    mkdir -p "$dir/t" "$conf"
    chmod 0755 "$conf"
    NGINX_PORT=""
    NGINX_PID=""
    local attempt try npid deadline
    for attempt in 1 2 3 4 5 6 7 8; do
        try=$((20000 + RANDOM % 40000))
        cat >"$conf/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $conf/nginx.pid;
error_log $conf/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir/t/body; proxy_temp_path $dir/t/proxy;
    fastcgi_temp_path $dir/t/f; uwsgi_temp_path $dir/t/u; scgi_temp_path $dir/t/s;
    types { application/octet-stream bin; application/json json; text/html html; }
    ${block//PORT/$try}
}
CONF
        rm -f "$conf/nginx.pid"
        nginx -p "$conf" -c "$conf/nginx.conf" -e "$conf/error.log" >"$conf/nginx.out" 2>&1 &
        npid=$!
        # A port someone else holds would answer curl too: only nginx's own pid file says that
        # this nginx has the port.
        deadline=$((SECONDS + 60))
        while kill -0 "$npid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
            if [ "$(cat "$conf/nginx.pid" 2>/dev/null)" = "$npid" ]; then
                NGINX_PORT=$try
                NGINX_PID=$npid
                return 0
            fi
            sleep 0.05
        done
        kill "$npid" 2>/dev/null || true
        wait "$npid" 2>/dev/null || true
    done
    cat "$conf/error.log" >&2 || true
    return 1
}
