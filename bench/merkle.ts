// Merkle tree benchmark: appends per second, root of a prefix, inclusion and consistency proofs per
// second on the node's tree (src/ledger/merkle-tree.ts), and WebCrypto proof verification
// (src/crypto/merkle.ts) side by side. Usage: node bench/merkle.ts [leaves=1000000]
import { createHash } from "node:crypto";
import { verifyInclusionProof } from "../src/crypto/merkle.ts";
import { leafHashSync, MerkleTree } from "../src/ledger/merkle-tree.ts";

const leaves = Number(process.argv[2] ?? 1_000_000);
if (!Number.isSafeInteger(leaves) || leaves < 2) throw new RangeError("leaves must be an integer >= 2");

function rate(label: string, count: number, run: () => void): void {
  const start = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${label.padEnd(36)} ${Math.round(count / seconds).toLocaleString("en")}/s (${count} in ${seconds.toFixed(2)} s)`,
  );
}

const leafHashes: Buffer[] = [];
for (let i = 0; i < Math.min(leaves, 65_536); i++) leafHashes.push(leafHashSync(Buffer.from(`leaf ${i}`)));

const tree = new MerkleTree();
const heapBefore = process.memoryUsage();
rate("append (precomputed leaf hash)", leaves, () => {
  for (let i = 0; i < leaves; i++) tree.append(leafHashes[i % leafHashes.length]!);
});
const heapAfter = process.memoryUsage();
const mib = (n: number) => (n / 2 ** 20).toFixed(1);
console.log(
  `tree buffers ${mib(tree.bytesAllocated())} MiB for ${leaves} leaves; ` +
    `rss +${mib(heapAfter.rss - heapBefore.rss)} MiB, arrayBuffers +${mib(heapAfter.arrayBuffers - heapBefore.arrayBuffers)} MiB`,
);

const queries = 20_000;
const random = (n: number) => Math.floor(Math.random() * n);
rate("root at a random size", queries, () => {
  for (let i = 0; i < queries; i++) tree.root(1 + random(leaves));
});
rate("inclusion proof (random leaf, full size)", queries, () => {
  for (let i = 0; i < queries; i++) tree.inclusionProof(random(leaves), leaves);
});
// What a primary's commit answers ask: the receipts of one signature share its tree size, and
// their leaves are the last few before it.
rate("inclusion proof (last 64 leaves, 64 per size)", queries, () => {
  for (let i = 0; i < queries; i++) {
    const size = leaves - 64 * (Math.floor(i / 64) % 1000);
    tree.inclusionProof(size - 64 + (i % 64), size);
  }
});
rate("consistency proof (random old size)", queries, () => {
  for (let i = 0; i < queries; i++) tree.consistencyProof(1 + random(leaves - 1), leaves);
});
rate("sha256 of 65 bytes (baseline)", 200_000, () => {
  const b = Buffer.alloc(65);
  for (let i = 0; i < 200_000; i++) createHash("sha256").update(b).digest();
});

const root = tree.root();
const verifications = 2_000;
const start = process.hrtime.bigint();
for (let i = 0; i < verifications; i++) {
  const index = random(leaves);
  const ok = await verifyInclusionProof(tree.leaf(index), index, leaves, tree.inclusionProof(index), root);
  if (!ok) throw new Error(`proof for ${index} did not verify`);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(
  `${"verify inclusion (WebCrypto, async)".padEnd(36)} ${Math.round(verifications / seconds).toLocaleString("en")}/s`,
);
