// The suite refuses to start when a port it needs is taken: a stray server on that port would be
// measured instead of ours, silently. Checked by binding each port on loopback and releasing it.
import { readFileSync } from "node:fs";
import * as net from "node:net";

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Returns the ports in `ports` that cannot be bound on 127.0.0.1 right now. */
export async function takenPorts(ports: readonly number[]): Promise<number[]> {
  const taken: number[] = [];
  for (const port of ports) if (!(await isFree(port))) taken.push(port);
  return taken;
}

/** Ports of `ports` inside the kernel's ephemeral range (which outgoing connections draw from). */
export function ephemeralPorts(ports: readonly number[]): number[] {
  let low = 32768;
  let high = 60999;
  try {
    const [a, b] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (a !== undefined && b !== undefined && a > 0 && b >= a) [low, high] = [a, b];
  } catch {
    // Not Linux: assume the default range.
  }
  return ports.filter((p) => p >= low && p <= high);
}
