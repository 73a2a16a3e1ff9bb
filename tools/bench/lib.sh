# SPDX-License-Identifier: MIT
# Sourced by the benchmarks: nginx on a loopback port, tuned as a fast upstream (one worker,
# no access log, keep-alive for a million requests), answering every path with one file.
#
#   bench_nginx_start DIR FILE PROBE   serves DIR/www/FILE as application/json for every path,
#                                      config, pid file and logs in DIR; runs under the
#                                      caller's server_pin (taskset) array; checks PROBE (a
#                                      path) answers; sets port and nginx_pid. Tries up to
#                                      PORT_TRIES random ports; calls die when none works.

bench_nginx_conf() { # dir file port
    cat >"$1/nginx.conf" <<EOF_CONF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    sendfile on;
    tcp_nodelay on;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    server {
        listen 127.0.0.1:$3;
        root $1/www;
        types { }
        # application/json: a recorder keeps it (static assets it would leave out). Every path
        # serves the one file: replay rewrites tenants in paths, and queries differ.
        default_type application/json;
        location / {
            try_files /$2 =404;
        }
    }
}
EOF_CONF
}

bench_nginx_start() {
    local d=$1 file=$2 probe=$3 try i attempt
    mkdir -p "$d/tmp"
    port=""
    nginx_pid=""
    for attempt in $(seq 1 "${PORT_TRIES:-20}"); do
        try=$((20000 + RANDOM % 40000))
        bench_nginx_conf "$d" "$file" "$try"
        "${server_pin[@]}" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
            >"$d/nginx.out" 2>&1 &
        nginx_pid=$!
        for i in $(seq 1 50); do
            if curl -fs -o /dev/null "http://127.0.0.1:$try$probe"; then
                port=$try
                return 0
            fi
            kill -0 "$nginx_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=""
    done
    cat "$d/error.log" "$d/nginx.out" >&2 2>/dev/null || true
    die "nginx did not start on a loopback port after ${PORT_TRIES:-20} tries"
}
