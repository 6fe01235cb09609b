// The suite refuses to start when a port it needs is taken: a stray server on that port would be
// measured instead of ours, silently. Checked by binding each port on loopback and releasing it.
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
