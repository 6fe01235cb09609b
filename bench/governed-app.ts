// Deploys an app directory as a governed bundle on a running sandbox, the way an operator does
// (docs/apps.md §5): `coterie app deploy DIR` proposes `set_app` signed by member0, member0 votes
// with the sandbox's yes-ballot, and the node swaps its /app mount once the proposal commits. The
// suite only uses the command line, so Coterie stays a black box.
import { join } from "node:path";
import type { Child, ProcessGroup } from "./procs.ts";

/** Each CLI call and the swap itself (a fresh process sandbox loads the bundle) get this long. */
const STEP_TIMEOUT_MS = 60_000;

export type DeployRequest = {
  /** The sandbox process, whose log says when the bundle is served. */
  child: Child;
  url: string;
  caFile: string;
  member: { certFile: string; keyFile: string };
  appDir: string;
  ballotFile: string;
};

/** Runs `node src/cli/main.ts ARGS` in the process group; returns its stdout (throws unless exit 0). */
async function runCli(
  ctx: { group: ProcessGroup; repoRoot: string },
  name: string,
  args: readonly string[],
): Promise<string> {
  const cli = join(ctx.repoRoot, "src/cli/main.ts");
  const child = ctx.group.spawn(name, process.execPath, [cli, ...args]);
  let stdout = "";
  child.process.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  const timer = setTimeout(() => void ctx.group.stop(child).catch(() => undefined), STEP_TIMEOUT_MS);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0)
    throw new Error(`coterie ${args[0]} ${args[1]} exited ${code}: ${child.tail.slice(-3).join(" | ")}`);
  return stdout;
}

/** The proposal id and state of `coterie gov ... --json` output (one JSON object). */
export function proposalOutcome(stdout: string): { proposalId: string; state: string } {
  const parsed = JSON.parse(stdout) as { proposal_id?: unknown; state?: unknown };
  if (typeof parsed.proposal_id !== "string" || typeof parsed.state !== "string") {
    throw new Error("coterie gov output has no proposal_id and state");
  }
  return { proposalId: parsed.proposal_id, state: parsed.state };
}

/** Proposes and votes the bundle in; resolves once the node logs that it serves it. */
export async function deployAppByVote(
  ctx: { group: ProcessGroup; repoRoot: string },
  r: DeployRequest,
): Promise<{ proposalId: string; seqno: number }> {
  const gov = [
    "--url",
    r.url,
    "--service-cert",
    r.caFile,
    "--cert",
    r.member.certFile,
    "--key",
    r.member.keyFile,
  ];
  const proposed = proposalOutcome(
    await runCli(ctx, "app-deploy", ["app", "deploy", r.appDir, ...gov, "--json"]),
  );
  const voted = proposalOutcome(
    await runCli(ctx, "gov-vote", ["gov", "vote", proposed.proposalId, r.ballotFile, ...gov, "--json"]),
  );
  if (voted.state !== "Accepted") throw new Error(`set_app proposal ended ${voted.state}, not Accepted`);
  const line = await ctx.group.waitForLine(r.child, /serving the governed app bundle/, STEP_TIMEOUT_MS);
  const seqno = Number(/"seqno":(\d+)/.exec(line)?.[1] ?? Number.NaN);
  return { proposalId: proposed.proposalId, seqno };
}
