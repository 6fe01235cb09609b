#!/bin/sh
# The README walkthrough as one script (test/e2e/supply-chain-walkthrough.test.ts runs it).
# Run from the repository root:  sh apps/supply-chain/walkthrough.sh [WORKDIR]
set -eu
ROOT=$(pwd)
W=${1:-workspace/supply-chain}
mkdir -p "$W"
cd "$W"
rm -rf ws bundles # a fresh service each run (only the script's own files)
C="node $ROOT/src/cli/main.ts"

# 1. A one-node service serving the app built in; member0 opens it by vote.
$C sandbox --workspace ws --port 0 --app supply-chain > sandbox.log 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null && wait $SANDBOX 2>/dev/null; true' EXIT
for _ in $(seq 300); do grep -q "sandbox listening on" sandbox.log && break; sleep 0.1; done
URL=$(sed -n 's/^coterie: sandbox listening on \(https:[^ ]*\).*/\1/p' sandbox.log)
echo "service at $URL"

# 2. Identities for the parties.
for p in supplier-a supplier-b retailer-x auditor-1; do $C keygen --name $p --out ws > /dev/null; done

# 3. Governance registers them as users with their party (and the auditor's assignment).
node -e '
const { readFileSync, writeFileSync } = require("node:fs");
const user = (name, role, extra = {}) => ({ name: "set_user", args: {
  cert: readFileSync(`ws/${name}_cert.pem`, "utf8"), user_data: { party: name, role, ...extra } } });
writeFileSync("users.json", JSON.stringify({ actions: [user("supplier-a", "supplier"),
  user("supplier-b", "supplier"), user("retailer-x", "retailer"),
  user("auditor-1", "auditor", { audits: ["supplier-a"] })] }));'
echo 'export function vote(proposal, proposerId) { return true; }' > ballot.js
GOV="--url $URL --service-cert ws/node0/service_cert.pem --cert ws/member0_cert.pem --key ws/member0_privk.pem"
id_of() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).proposal_id))'; }
ID=$($C gov propose users.json $GOV --json | id_of)
$C gov vote "$ID" ballot.js $GOV --json > /dev/null
echo "users registered by proposal $ID"

# 4. Business.
as() { echo "--cacert ws/node0/service_cert.pem --cert ws/$1_cert.pem --key ws/$1_privk.pem"; }
J='content-type: application/json'
U=$URL/app
PO1=$(curl -s $(as retailer-x) -H "$J" -d '{"supplier":"supplier-a","ref":"po-1","items":[{"sku":"bolt","qty":100}],"total":250}' "$U/orders?wait_for_commit=true")
TX1=$(printf "%s" "$PO1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).transaction_id))')
curl -s $(as retailer-x) -H "$J" -d '{"supplier":"supplier-b","ref":"po-2","items":[{"sku":"nut","qty":10}],"total":5}' "$U/orders" > /dev/null
curl -s $(as supplier-a) -H "$J" -d '{"order_id":"supplier-a:retailer-x:po-1","ref":"s-1","carrier":"acme"}' "$U/shipments?wait_for_commit=true" > /dev/null

# 5. Who sees what.
for who in retailer-x supplier-a supplier-b auditor-1; do
  echo "$who sees: $(curl -s $(as $who) "$U/orders" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).items.map(o=>o.id).join(" ")))')"
done
echo "supplier-b reads po-1: $(curl -s $(as supplier-b) "$U/orders/supplier-a:retailer-x:po-1")"
echo "supplier-b reads po-9: $(curl -s $(as supplier-b) "$U/orders/supplier-a:retailer-x:po-9")"
echo "supplier-b receipt of po-1: $(curl -s $(as supplier-b) "$URL/app/receipt?transaction_id=$TX1" | cut -c1-60)"
echo "auditor-1 receipt of po-1: $(curl -s $(as auditor-1) "$URL/app/receipt?transaction_id=$TX1" | cut -c1-30)"

# 6. Deploy the same source as a governed bundle (runs in the sandbox with these limits).
$C app build "$ROOT/apps/supply-chain" --out bundles/supply-chain.bundle.js
ID=$($C app deploy bundles/supply-chain.bundle.js --limits '{"memoryBytesMax":33554432,"callTimeoutMs":500}' $GOV --json | id_of)
$C gov vote "$ID" ballot.js $GOV --json > /dev/null
for _ in $(seq 100); do grep -q "serving the governed app bundle" sandbox.log && break; sleep 0.1; done
grep -q "serving the governed app bundle" sandbox.log && echo "now serving the governed bundle"
echo "auditor-1 sees (bundle): $(curl -s $(as auditor-1) "$U/orders" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).items.map(o=>o.id).join(" ")))')"
