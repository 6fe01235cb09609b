#!/usr/bin/env bash
# Runs a command with TMPDIR set to a fresh directory, so everything the tests create under
# os.tmpdir() (node workspaces, ledgers, keys) lives in one place. Removes the directory when the
# command succeeds; keeps it and says where when it fails, for a look at the logs and ledgers.
# Usage: tools/with-temp-dir.sh COMMAND [ARGS...]
set -uo pipefail
dir=$(mktemp -d "${TMPDIR:-/tmp}/coterie-run.XXXXXX") || exit 1
TMPDIR="$dir" "$@"
rc=$?
if [ "$rc" -eq 0 ]; then
  rm -rf "$dir"
else
  echo "with-temp-dir: exit $rc; the run's temporary files are kept in $dir" >&2
fi
exit "$rc"
