/**
 * The agent installer served at GET /install.sh: POSIX sh, run as `curl -fsSL <url>/install.sh | sh -s -- --auth-key …`.
 * It embeds where this control plane is (PUBLIC_URL, never a request's Host header: a forged Host, or a cache keyed
 * without it, would hand users a script that sends their enrollment key elsewhere) and the sha256 of the agent it
 * downloads from here, so a corrupted or swapped download is refused before anything is installed.
 */
export interface InstallScriptOptions {
  /** An origin (validated at boot): safe inside single quotes. */
  controlPlaneUrl: string;
  /** Lowercase hex. */
  agentSha256: string;
}

export function installScript(options: InstallScriptOptions): string {
  return `#!/bin/sh
# MeshGate agent installer, served by the control plane at ${options.controlPlaneUrl}/install.sh:
#
#   curl -fsSL ${options.controlPlaneUrl}/install.sh | sh -s -- --auth-key <enrollment key> [--name NAME] [--tags tag:web] [--advertise-routes 10.1.0.0/24]
#
# Installs what the agent drives (wireguard-tools, iproute2, nftables; wireguard-go when the kernel has no WireGuard),
# the agent (one JavaScript file, checked against its sha256) under /usr/lib/meshgate, its config /etc/meshgate/agent.json
# (0600) and a systemd unit, starts it and waits until the node is online. Every other flag goes to
# \`meshgate-agent up\` (see \`meshgate-agent up --help\`). Run it again to upgrade in place: the node keeps its identity
# (the key in /var/lib/meshgate). \`--uninstall\` removes what it installed (packages stay).
# MESHGATE_PREFIX=/some/dir puts every path under that directory and leaves systemd alone (for tests).
set -eu

CONTROL_PLANE_URL='${options.controlPlaneUrl}'
AGENT_SHA256='${options.agentSha256}'

PREFIX="\${MESHGATE_PREFIX:-}"
LIB_DIR="$PREFIX/usr/lib/meshgate"
AGENT_JS="$LIB_DIR/meshgate-agent.js"
BIN_LINK="$PREFIX/usr/bin/meshgate-agent"
CONF_DIR="$PREFIX/etc/meshgate"
CONFIG="$CONF_DIR/agent.json"
STATE_DIR="$PREFIX/var/lib/meshgate"
UNIT_NAME=meshgate-agent.service
UNIT="$PREFIX/etc/systemd/system/$UNIT_NAME"
PID_FILE="$PREFIX/run/meshgate-agent.pid"
LOG_FILE="$PREFIX/var/log/meshgate-agent.log"
WAIT_SECONDS="\${MESHGATE_WAIT_SECONDS:-120}"
NODE=

say() { printf 'meshgate: %s\\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
  cat <<USAGE
MeshGate agent installer for $CONTROL_PLANE_URL
  curl -fsSL $CONTROL_PLANE_URL/install.sh | sh -s -- --auth-key KEY [--name NAME] [--tags tag:web] [--advertise-routes PREFIXES] [meshgate-agent up flags]
  curl -fsSL $CONTROL_PLANE_URL/install.sh | sh -s -- --uninstall
USAGE
}

# The installer's own variables must not reach the agent, which refuses unknown MESHGATE_* settings; stdin is the
# script itself under \`curl | sh\`, so no child may read it.
agent() { (unset MESHGATE_PREFIX MESHGATE_WAIT_SECONDS; exec "$NODE" "$AGENT_JS" "$@" </dev/null); }

systemd_running() { [ -z "$PREFIX" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# Alive and not a zombie (a background agent's parent may never reap it).
running() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

package_manager() {
  for pm in apt-get dnf yum apk; do
    if command -v "$pm" >/dev/null 2>&1; then echo "$pm"; return; fi
  done
  echo none
}

# Installs the packages giving the named commands; a command already there is skipped.
need() {
  missing=
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
  [ -n "$missing" ] || return 0
  pm=$(package_manager)
  packages=
  for tool in $missing; do
    case "$pm:$tool" in
      *:wg) p=wireguard-tools ;;
      *:wireguard-go) p=wireguard-go ;;
      *:nft) p=nftables ;;
      *:node) p=nodejs ;;
      apt-get:ip | apt-get:tc | apk:ip | apk:tc) p=iproute2 ;;
      dnf:ip | yum:ip) p=iproute ;;
      dnf:tc | yum:tc) p=iproute-tc ;;
      *) p=$tool ;;
    esac
    packages="$packages $p"
  done
  say "installing$packages (for$missing)"
  case "$pm" in
    apt-get) DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages </dev/null ;;
    dnf) dnf install -y $packages </dev/null ;;
    yum) yum install -y $packages </dev/null ;;
    apk) apk add --no-cache $packages </dev/null ;;
    *) die "no apt-get, dnf, yum or apk here: install$packages yourself, then run this again" ;;
  esac
}

find_node() {
  NODE=$(command -v node 2>/dev/null || true)
  [ -n "$NODE" ] && "$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' </dev/null
}

fetch() {
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else die "needs curl or wget"; fi
}

sha256_of() {
  "$NODE" -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1" </dev/null
}

stop_agent() {
  if systemd_running && systemctl is-active --quiet "$UNIT_NAME"; then systemctl stop "$UNIT_NAME"; fi
  [ -f "$PID_FILE" ] || return 0
  pid=$(cat "$PID_FILE")
  if running "$pid" && tr '\\0' ' ' <"/proc/$pid/cmdline" | grep -q meshgate-agent; then
    kill -TERM "$pid"
    i=0
    while running "$pid"; do
      i=$((i + 1))
      if [ "$i" -ge 100 ]; then kill -KILL "$pid"; break; fi
      sleep 0.1
    done
  fi
  rm -f "$PID_FILE"
}

write_unit() {
  install -d -m 0755 "$(dirname "$UNIT")"
  cat >"$UNIT.tmp" <<UNIT
[Unit]
Description=MeshGate agent
Documentation=$CONTROL_PLANE_URL/docs
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=$NODE $AGENT_JS --config $CONFIG
Restart=always
RestartSec=5
UMask=0077
# Only the agent: its wireguard-go keeps the mesh up while the agent restarts or is upgraded.
KillMode=process

[Install]
WantedBy=multi-user.target
UNIT
  chmod 0644 "$UNIT.tmp"
  mv -f "$UNIT.tmp" "$UNIT"
}

start_agent() {
  rm -f "$STATE_DIR/status.json"
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT_NAME"
    systemctl start "$UNIT_NAME"
    say "started $UNIT_NAME"
    return
  fi
  install -d -m 0755 "$(dirname "$PID_FILE")" "$(dirname "$LOG_FILE")"
  detach=
  if command -v setsid >/dev/null 2>&1; then detach=setsid; fi
  (unset MESHGATE_PREFIX MESHGATE_WAIT_SECONDS; exec $detach "$NODE" "$AGENT_JS" --config "$CONFIG" >>"$LOG_FILE" 2>&1 </dev/null) &
  echo $! >"$PID_FILE"
  say "systemd is not running here: started the agent in the background (pid $!, log $LOG_FILE); it will not start again at boot"
}

install_agent() {
  find_node || need node
  find_node || die "needs Node.js >= 20 (the distribution's is older: see https://nodejs.org/en/download)"
  need wg ip nft tc
  if ! { [ -d /sys/module/wireguard ] || modprobe wireguard 2>/dev/null; }; then need wireguard-go; fi

  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  fetch "$CONTROL_PLANE_URL/downloads/meshgate-agent.js" "$tmp/meshgate-agent.js"
  actual=$(sha256_of "$tmp/meshgate-agent.js")
  [ "$actual" = "$AGENT_SHA256" ] || die "the downloaded agent's sha256 is $actual, not $AGENT_SHA256: nothing was installed"

  upgrade=no
  [ -f "$AGENT_JS" ] && upgrade=yes
  install -d -m 0755 "$LIB_DIR" "$(dirname "$BIN_LINK")" "$CONF_DIR"
  install -d -m 0700 "$STATE_DIR"
  install -m 0755 "$tmp/meshgate-agent.js" "$AGENT_JS.new"
  mv -f "$AGENT_JS.new" "$AGENT_JS"
  ln -sf "$AGENT_JS" "$BIN_LINK"
  say "installed $(agent --version) in $LIB_DIR"

  # Flags given now over those kept in the file; the URL first, so a --control-plane-url given here wins.
  agent up --config "$CONFIG" --no-start --control-plane-url "$CONTROL_PLANE_URL" --state-dir "$STATE_DIR" "$@" >/dev/null
  write_unit
  stop_agent
  start_agent
  if ! agent status --config "$CONFIG" --wait "$WAIT_SECONDS" >"$tmp/status" 2>&1; then
    cat "$tmp/status" >&2
    die "the node did not come online within $WAIT_SECONDS s (logs: journalctl -u $UNIT_NAME, or $LOG_FILE)"
  fi
  cat "$tmp/status" >&2
  if [ "$upgrade" = yes ]; then say "upgraded; the node kept its identity"; else say "the node is online"; fi
}

uninstall_agent() {
  stop_agent
  if [ -f "$AGENT_JS" ] && [ -f "$CONFIG" ] && find_node; then
    agent down --config "$CONFIG" >/dev/null || say "could not remove the interface (see above)"
  fi
  if systemd_running; then systemctl disable --quiet "$UNIT_NAME" 2>/dev/null || true; fi
  rm -f "$UNIT" "$BIN_LINK" "$CONFIG" "$CONFIG.tmp" "$LOG_FILE" "$PID_FILE"
  rm -rf "$LIB_DIR" "$STATE_DIR"
  rmdir "$CONF_DIR" 2>/dev/null || true
  if systemd_running; then systemctl daemon-reload; fi
  say "uninstalled; the node stays registered at $CONTROL_PLANE_URL until an admin removes it"
}

main() {
  uninstall=no
  n=$#
  while [ "$n" -gt 0 ]; do
    arg=$1
    shift
    n=$((n - 1))
    case "$arg" in
      --uninstall) uninstall=yes ;;
      -h | --help) usage; exit 0 ;;
      *) set -- "$@" "$arg" ;;
    esac
  done
  [ -n "$PREFIX" ] || [ "$(id -u)" = 0 ] || die "run it as root: curl -fsSL $CONTROL_PLANE_URL/install.sh | sudo sh -s -- …"
  if [ "$uninstall" = yes ]; then uninstall_agent; else install_agent "$@"; fi
}

# The whole script is read before anything runs: a download cut short does nothing.
main "$@"
`;
}
