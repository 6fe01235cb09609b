import type { Entry, Message } from "./types.ts";

/** A stable one-line rendering of an entry: `term/index` plus its kind when not data. */
export function describeEntry(e: Entry): string {
  const kind =
    e.kind === "data" ? "" : e.kind === "signature" ? " sig" : ` conf[${e.configuration!.join(",")}]`;
  return `${e.term}/${e.index}${kind}`;
}

/**
 * A stable one-line rendering of a message for logs and scenario files, in etcd's style:
 * `1->2 MsgApp Term:1 Log:1/11 Commit:11 Entries:[1/12 sig]`.
 */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case "MsgApp": {
      const entries = m.entries.length > 0 ? ` Entries:[${m.entries.map(describeEntry).join(" ")}]` : "";
      return `${head} Log:${m.prevTerm}/${m.prevIndex} Commit:${m.commit}${entries}`;
    }
    case "MsgAppResp":
      return m.reject
        ? `${head} Rejected:${m.index} Hint:${m.conflictTerm}/${m.conflictIndex}`
        : `${head} Index:${m.index}`;
    case "MsgVote":
    case "MsgPreVote":
      return `${head} Log:${m.lastTerm}/${m.lastIndex}${m.force ? " Force" : ""}`;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      return `${head}${m.reject ? " Rejected" : ""}`;
    case "MsgHeartbeat":
      return `${head} Commit:${m.commit}`;
    case "MsgSnap":
      return `${head} Snapshot:${m.snapshot.meta.term}/${m.snapshot.meta.index} Conf:[${m.snapshot.meta.configuration.join(",")}]`;
    case "MsgHeartbeatResp":
    case "MsgTimeoutNow":
      return head;
  }
}
