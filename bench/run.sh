#!/usr/bin/env bash
# bench/run.sh: picbed's benchmark suite, side by side with its peers, in one
# run on this machine. See docs/performance.md.
#
#   bash bench/run.sh                 # everything (about 15 minutes)
#   PHASES="serve" bash bench/run.sh  # some of: thumbs serve upload rss
#   REPS=3 DUR=10s                    # repetitions (medians are reported), wrk duration
#   PB_PORT NGINX_PORT BEFORE_PORT FLOOR_PORT  # loopback ports (18080-18090), each must be free
#   SERVE_CASES="small large 304-small 304-large mixed"  # the serve phase's cases
#
# It installs what it needs when missing (as root: libvips-tools nginx wrk
# webp, Debian's lomiri-wallpapers photos), works in bench/out/ (gitignored),
# listens on 127.0.0.1 only, runs one measurement at a time and prints
# ratios; bench/out/results.txt keeps the summary, bench/out/log/ every raw
# output.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out
PHASES=${PHASES:-thumbs serve upload rss}
SERVE_CASES=${SERVE_CASES:-small large 304-small 304-large mixed}
REPS=${REPS:-3}
DUR=${DUR:-10s}
THUMB_N=${THUMB_N:-5}        # timed Go runs per image and repetition
VIPS_N=${VIPS_N:-10}         # vipsthumbnail runs per image and repetition
# Ports (override when another process holds one: each must be free).
PB_PORT=${PB_PORT:-18080} BEFORE_PORT=${BEFORE_PORT:-18082} NGINX_PORT=${NGINX_PORT:-18081} FLOOR_PORT=${FLOOR_PORT:-18090}
mkdir -p "$OUT/log" "$OUT/img"
RESULTS=$OUT/results.txt
: >"$RESULTS"
say() { echo "$*" | tee -a "$RESULTS"; }
has() { [[ " $PHASES " == *" $1 "* ]]; }

# ---------------------------------------------------------------- tools
need=()
command -v vipsthumbnail >/dev/null || need+=(libvips-tools)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v cwebp >/dev/null || need+=(webp)
[ -x /usr/bin/time ] || need+=(time)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "need root to install: ${need[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---------------------------------------------------------------- images
WALL=$OUT/wall/usr/share/backgrounds
if [ ! -d "$WALL" ]; then
  mkdir -p "$OUT/debs"
  (cd "$OUT/debs" && for p in lomiri-wallpapers-20.04 lomiri-wallpapers-16.04 lomiri-wallpapers; do
    if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then apt-get download "$p" 2>/dev/null || true; fi
  done)
  if ! ls "$OUT"/debs/*.deb >/dev/null 2>&1; then
    # A machine whose tools were all there never ran apt-get update: no package lists.
    apt-get update -qq
    (cd "$OUT/debs" && apt-get download lomiri-wallpapers-20.04 lomiri-wallpapers-16.04 lomiri-wallpapers 2>/dev/null || true)
  fi
  for d in "$OUT"/debs/*.deb; do dpkg-deb -x "$d" "$OUT/wall"; done
fi
# Camera photos: progressive 4:2:2 13 MP, progressive 4:2:0 16 MP, baseline
# 4:2:2 20 MP, baseline 4:4:4 24 MP, baseline 4:2:0 6 MP.
PHOTOS="Dragonfly_by_Bolly seeding_by_Clements_Engelhardt Kleiber_by_Lukas_Baubkus Painting-Colors_by__herobrine7gamer analogpattern_by_Peter_Nerlich"
for p in $PHOTOS; do [ -f "$OUT/img/$p.jpg" ] || cp "$WALL/$p.jpg" "$OUT/img/$p.jpg"; done
go build -o "$OUT/bin/mkimages" ./bench/mkimages
go build -o "$OUT/bin/thumbs" ./bench/thumbs
go build -o "$OUT/bin/floor" ./bench/floor
go build -o "$OUT/bin/picbed" .
[ -f "$OUT/img/big.png" ] || "$OUT/bin/mkimages" -photo "$OUT/img/Dragonfly_by_Bolly.jpg" -out "$OUT/img" -shots 2
[ -f "$OUT/img/photo.webp" ] || cwebp -quiet -q 85 -resize 2400 0 "$WALL/sunset_by_Aitzol_Berasategi.jpg" -o "$OUT/img/photo.webp"
# Served files: a ~20 kB JPEG and a >= 500 kB one.
[ -f "$OUT/img/small.jpg" ] || vipsthumbnail "$WALL/life_by_Aitzol_Berasategi.jpg" -s 320x -o "$OUT/img/small.jpg[Q=75,strip]"
[ -f "$OUT/img/large.jpg" ] || cp "$WALL/life_by_Aitzol_Berasategi.jpg" "$OUT/img/large.jpg"
# Mixed files: 200 JPEGs from 5 kB to about 2 MB (widths 200..4400 px in a geometric
# series over the wallpapers, Q 85).
if [ ! -f "$OUT/img/mixed/m199.jpg" ]; then
  mkdir -p "$OUT/img/mixed"
  mapfile -t walls < <(ls "$WALL"/*.jpg)
  for i in $(seq 0 199); do
    w=$(awk -v i="$i" 'BEGIN {printf "%d", 200 * exp(log(22) * i / 199)}')
    vipsthumbnail "${walls[$((i % ${#walls[@]}))]}" -s "${w}x" -o "$OUT/img/mixed/m$i.jpg[Q=85,strip]"
  done
fi

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0) print "n/a"; else printf "%.2f", a/b }'; }
maxrss() { awk '/Maximum resident set size/ {printf "%.1f", $NF/1024}' "$1"; }
hwm() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

say "# picbed benchmark $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -h | awk '/Mem:/ {print $2}') RAM"
say "# commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' 2>/dev/null || echo ' (+ uncommitted changes)'), REPS=$REPS DUR=$DUR"

# ---------------------------------------------------------------- thumbs
if has thumbs; then
  say ""
  say "## thumbnail pipeline, one core (taskset -c 0): medium 500 px wide + 160x160 thumb, Q90"
  say "image | picbed images/s | vipsthumbnail images/s | ratio | picbed peak RSS MB (1 image) | vips peak RSS MB (1 image)"
  mkdir -p "$OUT/vt"
  for img in "$OUT"/img/Dragonfly_by_Bolly.jpg "$OUT"/img/seeding_by_Clements_Engelhardt.jpg "$OUT"/img/Kleiber_by_Lukas_Baubkus.jpg \
    "$OUT"/img/Painting-Colors_by__herobrine7gamer.jpg "$OUT"/img/analogpattern_by_Peter_Nerlich.jpg \
    "$OUT"/img/big.png "$OUT"/img/photo.webp "$OUT"/img/anim.gif; do
    b=$(basename "$img"); gs=(); vs=(); grss=0; vrss=0
    args=(); for _ in $(seq "$VIPS_N"); do args+=("$img"); done
    for r in $(seq "$REPS"); do
      log=$OUT/log/thumbs-$b-$r
      taskset -c 0 env GOMAXPROCS=1 /usr/bin/time -v "$OUT/bin/thumbs" -n "$THUMB_N" "$img" >"$log.out" 2>"$log.time"
      gs+=("$(sed -n 's/.*images\/s=\([0-9.]*\).*/\1/p' "$log.out")")
      grss=$(printf '%s\n%s\n' "$grss" "$(maxrss "$log.time")" | sort -g | tail -1)
      # vipsthumbnail derives each size from its own (shrink-on-load) decode:
      # two invocations, N images each, timed together.
      t0=$(date +%s.%N)
      taskset -c 0 env VIPS_CONCURRENCY=1 /usr/bin/time -v vipsthumbnail "${args[@]}" -s 500x -o "$OUT/vt/%s.md.jpg[Q=90,strip]" 2>"$log.vmd"
      taskset -c 0 env VIPS_CONCURRENCY=1 /usr/bin/time -v vipsthumbnail "${args[@]}" --smartcrop centre -s 160x160 -o "$OUT/vt/%s.th.jpg[Q=90,strip]" 2>"$log.vth"
      t1=$(date +%s.%N)
      vs+=("$(awk -v n="$VIPS_N" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", n/(b-a)}')")
      vrss=$(printf '%s\n%s\n%s\n' "$vrss" "$(maxrss "$log.vmd")" "$(maxrss "$log.vth")" | sort -g | tail -1)
    done
    # Peak RSS of one image in one process: the timed runs above keep
    # garbage (Go) and an operation cache (libvips) across repetitions.
    taskset -c 0 env GOMAXPROCS=1 /usr/bin/time -v "$OUT/bin/thumbs" -n 0 "$img" >/dev/null 2>"$OUT/log/rss1-$b.gorss"
    taskset -c 0 env VIPS_CONCURRENCY=1 /usr/bin/time -v vipsthumbnail "$img" -s 500x -o "$OUT/vt/%s.md.jpg[Q=90,strip]" 2>"$OUT/log/rss1-$b.vmd"
    taskset -c 0 env VIPS_CONCURRENCY=1 /usr/bin/time -v vipsthumbnail "$img" --smartcrop centre -s 160x160 -o "$OUT/vt/%s.th.jpg[Q=90,strip]" 2>"$OUT/log/rss1-$b.vth"
    grss=$(maxrss "$OUT/log/rss1-$b.gorss")
    vrss=$(printf '%s\n%s\n' "$(maxrss "$OUT/log/rss1-$b.vmd")" "$(maxrss "$OUT/log/rss1-$b.vth")" | sort -g | tail -1)
    g=$(printf '%s\n' "${gs[@]}" | median); v=$(printf '%s\n' "${vs[@]}" | median)
    say "$b | $g | $v | $(ratio "$g" "$v") | $grss | $vrss"
  done
fi

# ---------------------------------------------------------------- servers
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
waitport() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }
# freeport PORT: fails when something already answers there (waitport would then time
# another process's server).
freeport() { if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; then echo "port $1 is taken: set PB_PORT, BEFORE_PORT, NGINX_PORT or FLOOR_PORT" >&2; exit 1; fi; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# start_picbed BIN DATA PORT: starts picbed, sets PB_PID.
start_picbed() {
  freeport "$3"
  "$1" serve --data "$2" --addr "127.0.0.1:$3" --duplicates allow --flood-limits off --log-level error >"$OUT/log/picbed-$3.log" 2>&1 &
  PB_PID=$!; PIDS+=("$PB_PID"); waitport "$3"
}

# wrkrun URL [wrk args...]: prints "req/s MB/s p50ms p99ms non2xx"
wrkrun() {
  local url=$1; shift
  local o; o=$(wrk -t2 -c50 -d"$DUR" --latency "$@" "$url")
  echo "$o" >>"$OUT/log/wrk.log"
  echo "$o" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    function mb(v) { if (v ~ /GB$/) return v*1024; if (v ~ /MB$/) return v+0; if (v ~ /KB$/) return v/1024; return v/1048576 }
    /Requests\/sec/ {r=$2} /Transfer\/sec/ {t=mb($2)} / 50%/ {p50=ms($2)} / 99%/ {p99=ms($2)} /Non-2xx/ {n=$NF}
    END {printf "%s %.1f %.3f %.3f %d\n", r, t, p50, p99, n}'
}

DATA=$OUT/data
KEY=""
setup_data() {
  rm -rf "$DATA"
  echo benchpassword | "$OUT/bin/picbed" user add bench --admin --password-stdin --data "$DATA" >/dev/null
  KEY=$("$OUT/bin/picbed" key create bench --data "$DATA")
}
upload_url() { # FILE -> stored URL path
  curl -s -H "X-API-Key: $KEY" -F "source=@$1" "http://127.0.0.1:$PB_PORT/api/1/upload" | tr -d '\\' |
    grep -o '"url":"[^"]*/images/[^"]*"' | grep -v '\.\(th\|md\)\.' | head -1 | sed 's/^"url":"//; s/"$//; s|^https\{0,1\}://[^/]*||'
}

# ---------------------------------------------------------------- serve
if has serve; then
  setup_data
  start_picbed "$OUT/bin/picbed" "$DATA" "$PB_PORT"
  SMALL=$(upload_url "$OUT/img/small.jpg"); LARGE=$(upload_url "$OUT/img/large.jpg")
  if [[ " $SERVE_CASES " == *" mixed "* ]]; then
    for i in $(seq 0 199); do upload_url "$OUT/img/mixed/m$i.jpg"; done >"$OUT/mixed.list"
    [ "$(grep -c '^/images/' "$OUT/mixed.list")" = 200 ] || { echo "mixed uploads failed" >&2; exit 1; }
  fi
  stop "$PB_PID"
  ssize=$(stat -c %s "$DATA/images/${SMALL#/images/}"); lsize=$(stat -c %s "$DATA/images/${LARGE#/images/}")
  # The image tree as it was before the fast path, for the same files.
  BEFORE_REV=${BEFORE_REV:-$(git rev-list -1 --grep='image fast path caches file metadata' HEAD)~1}
  # (outside the checkout: a Go tree under bench/out would join ./...)
  src=$(mktemp -d /tmp/picbed-before.XXXXXX); rmdir "$src"
  git worktree add -q --detach "$src" "$BEFORE_REV"
  (cd "$src" && go build -o "$OUT/bin/picbed-before" .)
  git worktree remove --force "$src"
  rm -rf "$OUT/data-before"; cp -a "$DATA" "$OUT/data-before"; rm -f "$OUT/data-before/picbed.sock"
  # picbed and nginx serve a copy made the same way, not the files the uploads
  # wrote: on this machine every server read the upload-written files 10-15%
  # slower than a cp -a copy of them (docs/performance.md, "Same files for all").
  SERVE_DATA=$OUT/data-serve
  rm -rf "$SERVE_DATA"; cp -a "$DATA" "$SERVE_DATA"; rm -f "$SERVE_DATA/picbed.sock"
  cat >"$OUT/nginx.conf" <<EOF
user root;
worker_processes auto;
pid $OUT/nginx.pid;
error_log $OUT/log/nginx-error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  client_body_temp_path $OUT/nginx-tmp; proxy_temp_path $OUT/nginx-tmp; fastcgi_temp_path $OUT/nginx-tmp;
  uwsgi_temp_path $OUT/nginx-tmp; scgi_temp_path $OUT/nginx-tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /images/ {
      root $SERVE_DATA;
      add_header Cache-Control "public, max-age=31536000, immutable";
      add_header X-Content-Type-Options nosniff;
      add_header Content-Security-Policy sandbox;
      add_header Cross-Origin-Resource-Policy cross-origin;
    }
  }
}
EOF
  mkdir -p "$OUT/nginx-tmp"
  freeport "$NGINX_PORT"
  "$NGINX" -c "$OUT/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  start_picbed "$OUT/bin/picbed" "$SERVE_DATA" "$PB_PORT"; PB=$PB_PID
  start_picbed "$OUT/bin/picbed-before" "$OUT/data-before" "$BEFORE_PORT"; BEFORE=$PB_PID
  waitport "$NGINX_PORT"
  say ""
  msize=$(awk '{sub("^/images/", ""); print}' "$OUT/mixed.list" 2>/dev/null | (cd "$DATA/images" && xargs -r stat -c %s) | awk '{t+=$1; if (min==""||$1<min) min=$1; if ($1>max) max=$1} END {if (NR) printf "%d files, %d-%d bytes, mean %d", NR, min, max, t/NR}')
  say "## static serving: wrk -t2 -c50 -d$DUR --latency, loopback; small = $ssize bytes, large = $lsize bytes; mixed = ${msize:-none} (bench/mixed.lua cycles through them)"
  say "case | server | req/s | MB/s | p50 ms | p99 ms | vs nginx req/s"
  for c in $SERVE_CASES; do
    case $c in
      small) path=$SMALL ;; large) path=$LARGE ;; 304-small) path=$SMALL ;; 304-large) path=$LARGE ;; mixed) path=/ ;;
    esac
    declare -A reqs=() mbs=() p50s=() p99s=()
    for r in $(seq "$REPS"); do
      for s in nginx picbed before; do
        case $s in nginx) port=$NGINX_PORT ;; picbed) port=$PB_PORT ;; before) port=$BEFORE_PORT ;; esac
        url="http://127.0.0.1:$port$path"
        hdr=()
        if [[ $c == 304-* ]]; then
          etag=$(curl -s -D - -o /dev/null "$url" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
          hdr=(-H "If-None-Match: $etag")
          code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url")
          [ "$code" = 304 ] || { echo "$s: conditional GET answered $code" >&2; exit 1; }
        fi
        [ "$c" = mixed ] && hdr=(-s "$ROOT/bench/mixed.lua")
        read -r q m p50 p99 n < <(MIXED_LIST=$OUT/mixed.list wrkrun "$url" "${hdr[@]}")
        [[ $c == 304-* ]] || [ "$n" = 0 ] || { echo "$s $c: $n non-2xx answers" >&2; exit 1; }
        reqs[$s]+="$q "; mbs[$s]+="$m "; p50s[$s]+="$p50 "; p99s[$s]+="$p99 "
      done
    done
    nq=$(printf '%s\n' ${reqs[nginx]} | median)
    for s in nginx picbed before; do
      q=$(printf '%s\n' ${reqs[$s]} | median)
      say "$c | $s | $q | $(printf '%s\n' ${mbs[$s]} | median) | $(printf '%s\n' ${p50s[$s]} | median) | $(printf '%s\n' ${p99s[$s]} | median) | $(ratio "$q" "$nq")"
    done
    unset reqs mbs p50s p99s
  done
  nrss=0; for p in $(pgrep -P "$NGINX_PID") "$NGINX_PID"; do nrss=$(awk -v a="$nrss" -v b="$(hwm "$p")" 'BEGIN {print a+b}'); done
  say "peak RSS after serving: picbed $(hwm "$PB") MB, picbed before $(hwm "$BEFORE") MB, nginx (master + workers) $nrss MB"
  stop "$PB"; stop "$BEFORE"; stop "$NGINX_PID"
fi

# ---------------------------------------------------------------- upload
if has upload; then
  setup_data
  rm -rf "$OUT/floor-data"
  start_picbed "$OUT/bin/picbed" "$DATA" "$PB_PORT"; PB=$PB_PID
  freeport "$FLOOR_PORT"
  "$OUT/bin/floor" -addr "127.0.0.1:$FLOOR_PORT" -dir "$OUT/floor-data" 2>"$OUT/log/floor.log" &
  FLOOR=$!; PIDS+=("$FLOOR"); waitport "$FLOOR_PORT"
  shot=$OUT/img/shot0.png
  say ""
  say "## API upload: $(stat -c %s "$shot")-byte screenshot PNG, wrk -t1/-t2 -d$DUR, picbed --duplicates allow --flood-limits off"
  say "c | server | uploads/s | p50 ms | p99 ms | vs floor"
  for c in 1 8; do
    t=1; [ "$c" -gt 1 ] && t=2
    declare -A ups=() p50s=() p99s=()
    for r in $(seq "$REPS"); do
      for s in floor picbed; do
        port=$PB_PORT; [ $s = floor ] && port=$FLOOR_PORT
        o=$(UPLOAD_FILE=$shot UPLOAD_KEY=$KEY wrk -t$t -c$c -d"$DUR" --latency -s "$ROOT/bench/upload.lua" "http://127.0.0.1:$port/api/1/upload")
        echo "$o" >>"$OUT/log/wrk-upload.log"
        read -r q p50 p99 n < <(echo "$o" | awk '
          function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
          /Requests\/sec/ {r=$2} / 50%/ {p50=ms($2)} / 99%/ {p99=ms($2)} /Non-2xx/ {n=$NF} END {printf "%s %.2f %.2f %d\n", r, p50, p99, n}')
        [ "$n" = 0 ] || { echo "$s c=$c: $n failed uploads" >&2; exit 1; }
        ups[$s]+="$q "; p50s[$s]+="$p50 "; p99s[$s]+="$p99 "
      done
    done
    fq=$(printf '%s\n' ${ups[floor]} | median)
    for s in floor picbed; do
      q=$(printf '%s\n' ${ups[$s]} | median)
      say "$c | $s | $q | $(printf '%s\n' ${p50s[$s]} | median) | $(printf '%s\n' ${p99s[$s]} | median) | $(ratio "$q" "$fq")"
    done
    unset ups p50s p99s
  done
  say "peak RSS after uploads: picbed $(hwm "$PB") MB, floor $(hwm "$FLOOR") MB"
  stop "$PB"; stop "$FLOOR"
  rm -rf "$OUT/floor-data" "$DATA" # thousands of uploads: gigabytes
fi

# ---------------------------------------------------------------- rss
if has rss; then
  setup_data
  start_picbed "$OUT/bin/picbed" "$DATA" "$PB_PORT"; PB=$PB_PID
  sleep 2
  idle=$(rss "$PB")
  big=$OUT/img/Dragonfly_by_Bolly.jpg
  cpids=()
  for i in $(seq 8); do
    curl -s -o "$OUT/log/rss-up-$i.json" -H "X-API-Key: $KEY" -F "source=@$big" "http://127.0.0.1:$PB_PORT/api/1/upload" &
    cpids+=($!)
  done
  wait "${cpids[@]}" || true
  ok=$(grep -l '"status_code":200' "$OUT"/log/rss-up-*.json | wc -l)
  say ""
  say "## memory: idle RSS $idle MB; peak RSS with 8 concurrent uploads of a $(vipsheader -f width "$big")x$(vipsheader -f height "$big") JPEG ($ok/8 stored): $(hwm "$PB") MB"
  stop "$PB"
fi
echo "results in $RESULTS"
